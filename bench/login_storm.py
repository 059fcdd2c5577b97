#!/usr/bin/python3
"""bench/login_storm.py -- a login form under attack, at the default hashing
costs (scripts/bench.sh, issue 12: "a budget for password hashing").

Usage: login_storm.py DBNAME SECONDS LOGINS REGISTRARS FARMS K0 OUTDIR

Connects with libpq's PG* variables.  First registers KNOWN users at
farmreg's default costs (their stored hashes cost what a real user's do),
opens every session and has each hashing session verify one wrong password,
one at a time, so that its backend has loaded farmreg and reached its usual
size; then, for SECONDS:

  LOGINS sessions      verify_password(known user, a wrong password), in a
                       loop: NULL is the answer for a wrong password; SQLSTATE
                       53000 (with a hint) is the budget's "busy"; anything
                       else is a failure;
  REGISTRARS sessions  register_farm_admin(new user, farm usda_uid(K0 - i)), in
                       a loop: ok, or ok = false with try_again_later at step
                       hash_password; anything else is a failure;
  1 session            SELECT 1 every 50 ms: is the database still there for
                       everyone else?
  a lock sampler       every 10 ms, how many of the budget's places are held
                       (pg_locks): how busy the budget keeps the hashing;
  the memory sampler   every 10 ms, the anonymous memory of every hashing
                       backend (/proc/PID/statm: resident minus shared): the
                       sum of what they hold above their usual size, against
                       budget x memlimit, and how many hold more than half a
                       memlimit above it at once (a hash in progress).

Writes OUTDIR/storm_{login,register,ping}.lat (us, one per line) and prints
key=value figures on one line (see scripts/bench.sh, measure_storm).
Needs to read /proc/PID/status of the postgres backends (root, or the
postgres user).
"""

import os
import random
import sys
import threading
import time

import psycopg

KNOWN = 8
WRONG = "not the right password at all"


def connect(db):
    conn = psycopg.connect(dbname=db, autocommit=True)
    # bounded: a call that never answers fails the run instead of hanging it
    conn.execute("SET statement_timeout = '10s'")
    return conn


def status(pid):
    """VmRSS, VmHWM, RssAnon of a process, in kB"""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM", "RssAnon"):
                out[key] = int(rest.split()[0])
    return out


PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def anon_kb(fd):
    """resident minus shared (file and shared memory) pages, from an open
    /proc/PID/statm: the process's anonymous memory, in kB (statm is one
    short line, so a sample of every backend takes well under a millisecond)"""
    fields = os.pread(fd, 256, 0).split()
    return (int(fields[1]) - int(fields[2])) * PAGE_KB


def percentile(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    rank = max(1, -(-len(s) * p // 100))
    return s[int(rank) - 1]


def main():
    db, seconds, nlogins, nregs, farms, k0, outdir = sys.argv[1], float(sys.argv[2]), \
        int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]

    admin = connect(db)

    def farm(k):
        return str(10000000 + (k * 482711) % farms + 1)

    seq = [0]
    seq_lock = threading.Lock()

    def next_k():
        with seq_lock:
            seq[0] += 1
            return k0 - seq[0]

    known = []
    for _ in range(KNOWN):
        k = next_k()
        name = f"storm{k}"
        row = admin.execute("SELECT ok, error_code FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s)",
                            (name, f"storm password {k}", f"Storm {k}", f"{name}@example.com",
                             farm(k))).fetchone()
        if not row[0]:
            sys.exit(f"login_storm.py: could not register {name}: {row[1]}")
        known.append(name)
    budget = int(admin.execute("SELECT current_setting('farmreg.max_concurrent_hashes')").fetchone()[0])
    memlimit_kb = int(admin.execute(
        "SELECT setting FROM pg_catalog.pg_settings WHERE name = 'farmreg.password_memlimit'").fetchone()[0])
    opslimit = int(admin.execute("SELECT current_setting('farmreg.password_opslimit')").fetchone()[0])
    hash_wait = admin.execute("SELECT current_setting('farmreg.hash_wait')").fetchone()[0]
    scope = admin.execute("SELECT current_setting('farmreg.hash_budget_scope')").fetchone()[0]

    logins = [connect(db) for _ in range(nlogins)]
    regs = [connect(db) for _ in range(nregs)]
    ping = connect(db)
    hashing = logins + regs
    for c in hashing:
        # one at a time: never over budget
        c.execute("SELECT farmreg.verify_password(%s, %s)", (known[0], WRONG))
    pids = [c.info.backend_pid for c in hashing]
    base = {pid: status(pid) for pid in pids}
    statm = {pid: os.open(f"/proc/{pid}/statm", os.O_RDONLY) for pid in pids}
    base_anon = {pid: anon_kb(statm[pid]) for pid in pids}

    stop = time.monotonic() + seconds
    login_lat, reg_lat, ping_lat = [], [], []
    counts = {"login_null": 0, "login_busy": 0, "login_busy_nohint": 0, "login_other": 0,
              "login_returned_id": 0,
              "reg_ok": 0, "reg_try_again": 0, "reg_other": 0, "reg_error": 0}
    others = []
    lock = threading.Lock()

    def count(key, detail=None):
        with lock:
            counts[key] += 1
            if detail is not None and len(others) < 10:
                others.append(detail)

    def login_loop(conn):
        rnd = random.Random(conn.info.backend_pid)
        while time.monotonic() < stop:
            user = rnd.choice(known)
            t0 = time.monotonic()
            try:
                (uid,) = conn.execute("SELECT farmreg.verify_password(%s, %s)", (user, WRONG)).fetchone()
                key = "login_null" if uid is None else "login_returned_id"
                count(key)
            except psycopg.Error as e:
                if e.sqlstate == "53000":
                    count("login_busy" if e.diag.message_hint else "login_busy_nohint")
                else:
                    count("login_other", f"login: {e.sqlstate} {e.diag.message_primary}")
            with lock:
                login_lat.append((time.monotonic() - t0) * 1000)

    def register_loop(conn):
        while time.monotonic() < stop:
            k = next_k()
            name = f"storm{k}"
            t0 = time.monotonic()
            try:
                ok, code, step = conn.execute(
                    "SELECT ok, error_code, failed_step FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s)",
                    (name, f"storm password {k}", f"Storm {k}", f"{name}@example.com", farm(k))).fetchone()
                if ok:
                    count("reg_ok")
                elif code == "try_again_later" and step == "hash_password":
                    count("reg_try_again")
                else:
                    count("reg_other", f"registration: {code} at {step}")
            except psycopg.Error as e:
                count("reg_error", f"registration raised {e.sqlstate} {e.diag.message_primary}")
            with lock:
                reg_lat.append((time.monotonic() - t0) * 1000)

    def ping_loop():
        while time.monotonic() < stop:
            t0 = time.monotonic()
            ping.execute("SELECT 1").fetchone()
            ping_lat.append((time.monotonic() - t0) * 1000)
            time.sleep(max(0.0, 0.05 - (time.monotonic() - t0)))

    slots = {"samples": 0, "held": 0, "full": 0}

    def slot_loop():
        """how busy the budget is: its places held (pg_locks: farmreg's user
        locks, classid 1718773095, objid 2000 + place), every 10 ms"""
        c = connect(db)
        while time.monotonic() < stop:
            (held,) = c.execute(
                "SELECT count(*) FROM pg_catalog.pg_locks WHERE locktype = 'userlock'"
                " AND classid = 1718773095 AND objid >= 2000 AND objid < 2000 + %s AND granted",
                (budget,)).fetchone()
            slots["samples"] += 1
            slots["held"] += held
            slots["full"] += held >= budget
            time.sleep(0.01)
        c.close()

    mem = {"samples": 0, "peak_excess_kb": 0, "peak_top_kb": 0, "peak_rest_kb": 0,
           "max_hashers": 0}

    def mem_loop():
        while time.monotonic() < stop:
            grown = sorted((max(0, anon_kb(statm[pid]) - base_anon[pid]) for pid in pids),
                           reverse=True)
            excess = sum(grown)
            top = sum(grown[:budget])       # the backends that may be hashing
            mem["samples"] += 1
            if excess > mem["peak_excess_kb"]:
                mem.update(peak_excess_kb=excess, peak_top_kb=top, peak_rest_kb=excess - top)
            mem["max_hashers"] = max(mem["max_hashers"],
                                     sum(g > memlimit_kb // 2 for g in grown))
            time.sleep(0.01)

    threads = [threading.Thread(target=login_loop, args=(c,)) for c in logins]
    threads += [threading.Thread(target=register_loop, args=(c,)) for c in regs]
    threads += [threading.Thread(target=ping_loop), threading.Thread(target=mem_loop),
                threading.Thread(target=slot_loop)]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t_start

    hwm_excess = []
    for pid in pids:
        try:
            hwm_excess.append(status(pid)["VmHWM"] - base[pid]["VmRSS"])
        except (OSError, KeyError):
            pass
    usual_kb = sum(base_anon.values())
    for fd in statm.values():
        os.close(fd)
    for c in hashing + [ping, admin]:
        c.close()

    for name, values in (("login", login_lat), ("register", reg_lat), ("ping", ping_lat)):
        with open(os.path.join(outdir, f"storm_{name}.lat"), "w") as f:
            for v in sorted(values):
                f.write(f"{v * 1000:.0f}\n")   # us, as pgbench's logs

    nreg = counts["reg_ok"] + counts["reg_try_again"] + counts["reg_other"] + counts["reg_error"]
    figures = {
        "seconds": f"{elapsed:.1f}", "logins": nlogins, "registrars": nregs,
        "budget": budget, "scope": scope, "memlimit_kb": memlimit_kb, "opslimit": opslimit,
        "hash_wait": hash_wait.replace(" ", ""),
        **counts,
        "registrations": nreg,
        "login_p50_ms": f"{percentile(login_lat, 50):.1f}",
        "login_p99_ms": f"{percentile(login_lat, 99):.1f}",
        "reg_p50_ms": f"{percentile(reg_lat, 50):.1f}",
        "reg_p99_ms": f"{percentile(reg_lat, 99):.1f}",
        "reg_max_ms": f"{max(reg_lat, default=float('nan')):.1f}",
        "ping_n": len(ping_lat),
        "ping_p50_ms": f"{percentile(ping_lat, 50):.2f}",
        "ping_p99_ms": f"{percentile(ping_lat, 99):.2f}",
        "ping_max_ms": f"{max(ping_lat, default=float('nan')):.2f}",
        "slot_samples": slots["samples"],
        "slots_busy_pct": f"{100 * slots['held'] / max(1, slots['samples'] * budget):.1f}",
        "hashes_per_s": f"{(counts['login_null'] + counts['reg_ok']) / elapsed:.1f}",
        "mem_samples": mem["samples"],
        "mem_peak_excess_kb": mem["peak_excess_kb"],
        "mem_peak_top_kb": mem["peak_top_kb"],
        "mem_peak_rest_kb": mem["peak_rest_kb"],
        "mem_max_hashers": mem["max_hashers"],
        "mem_usual_kb": usual_kb,
        "hwm_excess_max_kb": max(hwm_excess, default=0),
        "hwm_excess_median_kb": int(percentile(hwm_excess, 50)) if hwm_excess else 0,
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))
    for o in others:
        print(f"# {o}", file=sys.stderr)


if __name__ == "__main__":
    main()
