#!/usr/bin/python3
"""bench/syscalls.py -- system calls and page faults of one backend per
registration (scripts/bench.sh, issue 11: "no per-call heap churn").

Usage: syscalls.py DBNAME VARIANT COUNT BASE FARMS

One session (libpq's PG* variables; PGOPTIONS sets the cheap hashing costs)
registers WARMUP farm admins (plans, caches, the heap's first growth), then
`strace -c -f -p <its backend>` is attached and the session registers COUNT
more, one prepared single call each, request k = BASE + i as in the pgbench
scripts (user u<k>, farm usda_uid(k)).  strace is then stopped and its
summary read.  Also counts the backend's minor page faults (/proc/PID/stat)
over the same calls.

Prints one line:  VARIANT COUNT OK BRK MUNMAP MMAP MINFLT
(OK: how many of the COUNT calls registered; all of them must.)
Needs root (or ptrace rights over the postgres processes) and strace.
"""

import signal
import subprocess
import sys
import tempfile
import time

import psycopg

WARMUP = 200

ARGS = "%(username)s, %(password)s, %(name)s, %(email)s, %(usda_uid)s"
SQL = {
    "farmreg": f"SELECT ok FROM farmreg.register_farm_admin({ARGS})",
    "plpgsql": f"SELECT ok FROM bench.register_farm_admin_plpgsql({ARGS})",
    "plpgsql_simple": f"SELECT ok FROM bench.register_farm_admin_simple({ARGS})",
    # bench/pgbench/floor.sql, with the request as parameters
    "floor": """
WITH free AS (
    SELECT f.id, f.name FROM farmreg.usda_farms AS f
     WHERE f.usda_uid = %(usda_uid)s
       AND NOT EXISTS (SELECT FROM farmreg.farms AS fm WHERE fm.usda_farm_id = f.id)
       AND NOT EXISTS (SELECT FROM farmreg.users AS u
                        WHERE lower(u.username COLLATE "C") = lower(%(username)s))
       AND NOT EXISTS (SELECT FROM farmreg.users AS u
                        WHERE lower(u.email COLLATE "C") = lower(%(email)s))),
new_user AS (
    INSERT INTO farmreg.users (username, email, name, password_hash)
    SELECT %(username)s, %(email)s, %(name)s, bench.argon2id(%(password)s, 1, 8)
      FROM free
    RETURNING id),
new_farm AS (
    INSERT INTO farmreg.farms (name, usda_farm_id)
    SELECT free.name, free.id FROM free, new_user
    RETURNING id),
new_farmer AS (
    INSERT INTO farmreg.farmers (user_id, farm_id, is_admin)
    SELECT new_user.id, new_farm.id, true FROM new_user, new_farm
    RETURNING id)
SELECT true FROM new_user, new_farm, new_farmer""",
}


def request(k, farms):
    return {"username": f"u{k}", "password": "correct horse battery staple",
            "name": f"Farmer {k}", "email": f"u{k}@example.com",
            "usda_uid": str(10000000 + (k * 482711) % farms + 1)}


def minflt(pid):
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    # the fields after the command name (which is in parentheses)
    return int(stat[stat.rindex(")") + 2:].split()[7])


def strace_counts(path):
    """syscall -> calls, from strace -c's table."""
    counts = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[3].isdigit():
                counts[parts[-1]] = int(parts[3])
    return counts


def main():
    db, variant, count, base, farms = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    sql = SQL[variant]
    conn = psycopg.connect(dbname=db, autocommit=True)
    pid = conn.info.backend_pid

    def register(k):
        row = conn.execute(sql, request(k, farms), prepare=True).fetchone()
        return bool(row and row[0])

    for i in range(WARMUP):
        if not register(base + i):
            sys.exit(f"syscalls.py: {variant}: warm-up registration {i} did not register")

    with tempfile.NamedTemporaryFile(prefix="strace.", suffix=".txt") as out:
        tracer = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", out.name],
                                  stderr=subprocess.PIPE, text=True)
        line = tracer.stderr.readline()     # "strace: Process N attached"
        if "attached" not in line:
            tracer.kill()
            sys.exit(f"syscalls.py: strace did not attach to {pid}: {line.strip()}")
        time.sleep(0.1)
        flt0 = minflt(pid)
        ok = sum(register(base + WARMUP + i) for i in range(count))
        flt1 = minflt(pid)
        tracer.send_signal(signal.SIGINT)
        tracer.communicate(timeout=30)
        counts = strace_counts(out.name)

    conn.close()
    print(variant, count, ok, counts.get("brk", 0), counts.get("munmap", 0),
          counts.get("mmap", 0), flt1 - flt0)


if __name__ == "__main__":
    main()
