#!/usr/bin/python3
"""bench/commit_probe.py -- what a pgbench run does to the NOTIFY lock, and
how soon a LISTENing consumer learns of a commit (scripts/bench.sh, issue 12).

Usage: commit_probe.py DBNAME SECONDS FARMS K0 LATENCY_FILE

Runs beside a pgbench run for SECONDS (libpq's PG* variables; PGOPTIONS
sets the cheap hashing costs), with three sessions of its own:

  sampler   every 10 ms, pg_locks' row for the lock a committing NOTIFY
            takes (locktype 'object', database 0, classid pg_database,
            objid 0): how many backends wait for it (not granted);
  prober    every 100 ms one registration of its own (user probe<k>, farm
            usda_uid(k), k = K0 - i: far from pgbench's requests), noting
            when its commit returned;
  listener  LISTEN farmreg_events; on every wakeup it looks for the probes'
            rows (as a consumer polling then would see them) and notes when
            each became visible to it.

The wakeup latency of a probe is the time from its commit's return to the
first wakeup after which the listener saw its rows (0 if it saw them
before the commit returned); a probe no wakeup ever revealed, within the
run and 2 s after it, counts as missed.  Latencies go to LATENCY_FILE, in
microseconds, one per line.  Prints one line of key=value figures:
  samples waiting_samples waiters_sum waiters_max probes probes_ok
  missed notifications notifications_from_worker notify_per_s p50_ms p99_ms
(notifications: received during the run; from_worker: of those, sent by the
database's farmreg wakeup worker, backend_type 'farmreg wakeup'.)
"""

import select
import sys
import threading
import time

import psycopg


def connect(db):
    return psycopg.connect(dbname=db, autocommit=True)


def percentile(values, p):
    """nearest rank, as scripts/bench.sh computes them"""
    if not values:
        return float("nan")
    s = sorted(values)
    rank = max(1, -(-len(s) * p // 100))
    return s[int(rank) - 1]


def main():
    db, seconds, farms, k0, latency_file = sys.argv[1], float(sys.argv[2]), \
        int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    stop = time.monotonic() + seconds

    lock_stats = {"samples": 0, "waiting_samples": 0, "waiters_sum": 0, "waiters_max": 0}

    workers = set()     # pids of the database's farmreg wakeup workers

    def sampler():
        c = connect(db)
        next_workers = 0.0
        while time.monotonic() < stop:
            if time.monotonic() >= next_workers:
                workers.update(pid for (pid,) in c.execute(
                    "SELECT pid FROM pg_catalog.pg_stat_activity"
                    " WHERE backend_type = 'farmreg wakeup' AND datname = current_database()"))
                next_workers = time.monotonic() + 0.5
            (waiting,) = c.execute(
                "SELECT count(*) FROM pg_catalog.pg_locks"
                " WHERE locktype = 'object' AND database = 0"
                "   AND classid = 'pg_catalog.pg_database'::pg_catalog.regclass"
                "   AND objid = 0 AND NOT granted").fetchone()
            lock_stats["samples"] += 1
            lock_stats["waiting_samples"] += waiting > 0
            lock_stats["waiters_sum"] += waiting
            lock_stats["waiters_max"] = max(lock_stats["waiters_max"], waiting)
            time.sleep(0.01)
        c.close()

    probes = {}         # lower(username) -> commit returned (monotonic)
    announced = []      # usernames the listener should look for
    seen = {}           # lower(username) -> seen by the listener (monotonic)
    plock = threading.Lock()
    probe_ok = [0]

    def prober():
        c = connect(db)
        i = 0
        while time.monotonic() < stop - 0.2:
            i += 1
            k = k0 - i
            name = f"probe{k}"
            with plock:
                announced.append(name)
            row = c.execute(
                "SELECT ok FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s)",
                (name, "correct horse battery staple", f"Probe {k}", f"{name}@example.com",
                 str(10000000 + (k * 482711) % farms + 1))).fetchone()
            done = time.monotonic()
            with plock:
                probes[name] = done
            probe_ok[0] += bool(row and row[0])
            time.sleep(max(0.0, 0.1 - (time.monotonic() - done)))
        c.close()

    senders = []        # the sending backend of every notification during the run

    def listener(conn):
        look = conn.cursor()
        end = stop + 2.0
        while time.monotonic() < end:
            readable, _, _ = select.select([conn.fileno()], [], [], 0.05)
            if not readable:
                continue
            conn.pgconn.consume_input()
            woke = False
            note = conn.pgconn.notifies()
            while note is not None:
                if time.monotonic() < stop:
                    senders.append(note.be_pid)
                woke = True
                note = conn.pgconn.notifies()
            if not woke:
                continue
            t = time.monotonic()
            with plock:
                wanted = [n for n in announced if n not in seen]
            if not wanted:
                continue
            look.execute(
                "SELECT pg_catalog.lower(u.username COLLATE pg_catalog.\"C\") FROM farmreg.users AS u"
                " WHERE pg_catalog.lower(u.username COLLATE pg_catalog.\"C\") = ANY (%s)",
                (wanted,))
            for (name,) in look.fetchall():
                seen.setdefault(name, t)

    lconn = connect(db)
    lconn.execute("LISTEN farmreg_events")
    threads = [threading.Thread(target=sampler), threading.Thread(target=prober),
               threading.Thread(target=listener, args=(lconn,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with connect(db) as c:
        workers.update(pid for (pid,) in c.execute(
            "SELECT pid FROM pg_catalog.pg_stat_activity"
            " WHERE backend_type = 'farmreg wakeup' AND datname = current_database()"))
    lconn.close()

    latencies = []
    missed = 0
    for name, done in probes.items():
        if name in seen:
            latencies.append(max(0.0, seen[name] - done) * 1000)
        else:
            missed += 1
    with open(latency_file, "w") as f:
        for v in sorted(latencies):
            f.write(f"{v * 1000:.0f}\n")       # us, as pgbench's logs
    figures = dict(lock_stats)
    figures.update(probes=len(probes), probes_ok=probe_ok[0], missed=missed,
                   notifications=len(senders),
                   notifications_from_worker=sum(pid in workers for pid in senders),
                   notify_per_s=f"{len(senders) / seconds:.1f}",
                   p50_ms=f"{percentile(latencies, 50):.1f}",
                   p99_ms=f"{percentile(latencies, 99):.1f}")
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
