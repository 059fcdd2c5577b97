#!/usr/bin/python3
"""wakeup_check.py -- LISTEN farmreg_events consumers are woken without a
NOTIFY in the registering transactions (test/suites/wakeup.sh runs this).

Usage: wakeup_check.py DBNAME [FALLBACK_CONNINFO]

Connects with libpq's PG* variables (the test cluster), to DBNAME, which has
farmreg and USDA farms W-1..W-20000 and lets its role hash cheaply.  Prints
one TAP line per check ("ok - ..." / "not ok - ...") and "# ..." figures.

Checks:
  1. every registration that commits is followed by a notification from the
     database's wakeup worker (backend_type 'farmreg wakeup'), never from
     the registering backend, and within a bound far above the 250 ms the
     mechanism aims at (the figures give p50/p99; make bench measures them);
  2. a registration that rolls back wakes nobody;
  3. many registrations at once are coalesced: at most about ten
     notifications a second;
  4. a terminated worker is replaced by the next registration;
  5. no registering backend ever holds the NOTIFY queue lock (object 0 of
     class pg_database, what a committing NOTIFY takes), sampled from
     pg_locks while two writers register;
  6. the worker gets out of DROP DATABASE's way.
With FALLBACK_CONNINFO (a database on a cluster with no free worker slot):
  7. without a worker, the registering transaction notifies by itself, and
     says so once.
"""

import select
import sys
import threading
import time

import psycopg

FAILED = 0


def ok(cond, desc):
    global FAILED
    if cond:
        print(f"ok - {desc}", flush=True)
    else:
        FAILED += 1
        print(f"not ok - {desc}", flush=True)
    return cond


def diag(text):
    for line in str(text).splitlines():
        print(f"# {line}", flush=True)


def connect(db, **kw):
    """db: a database name, or a whole conninfo string."""
    if "=" in db:
        return psycopg.connect(db, autocommit=True, **kw)
    return psycopg.connect(dbname=db, autocommit=True, **kw)


class Listener:
    """A LISTEN farmreg_events session; records (arrival time, sender pid)."""

    def __init__(self, db):
        self.conn = connect(db)
        self.conn.execute("LISTEN farmreg_events")
        self.got = []

    def drain(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            readable, _, _ = select.select([self.conn.fileno()], [], [], left)
            if readable:
                self.conn.pgconn.consume_input()
                n = self.conn.pgconn.notifies()
                while n is not None:
                    self.got.append((time.monotonic(), n.be_pid))
                    n = self.conn.pgconn.notifies()

    def first_after(self, t):
        for when, pid in self.got:
            if when >= t:
                return when, pid
        return None


SEQ = [0]
LOCK = threading.Lock()


def register(conn, prefix):
    """A registration that succeeds: a new user and a farm of its own."""
    with LOCK:
        SEQ[0] += 1
        n = SEQ[0]
    user = f"{prefix}{n}"
    row = conn.execute(
        "SELECT ok, error_code FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s)",
        (user, "pw-SECRET-wakeup-1", "Wake Up", f"{user}@example.com", f"W-{n}"),
    ).fetchone()
    return row


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def worker_pids(conn):
    return [r[0] for r in conn.execute(
        "SELECT pid FROM pg_stat_activity WHERE backend_type = 'farmreg wakeup'"
        " AND datname = current_database()").fetchall()]


def main():
    db = sys.argv[1]
    fallback_db = sys.argv[2] if len(sys.argv) > 2 else None

    writer = connect(db)
    writer_pid = writer.info.backend_pid
    listener = Listener(db)

    # 1. one registration at a time, each followed by its wakeup
    latencies = []
    senders = set()
    missing = 0
    registered = 0
    for _ in range(40):
        t_sent = time.monotonic()
        okay, code = register(writer, "wk")
        t_done = time.monotonic()
        registered += okay
        listener.drain(0)
        deadline = t_done + 3
        hit = listener.first_after(t_sent)
        while hit is None and time.monotonic() < deadline:
            listener.drain(0.05)
            hit = listener.first_after(t_sent)
        if hit is None:
            missing += 1
        else:
            latencies.append(max(0.0, hit[0] - t_done) * 1000)
            senders.add(hit[1])
        listener.got.clear()
        time.sleep(0.15)
    ok(registered == 40, f"40 registrations, one at a time ({registered} ok)")
    ok(missing == 0, f"each was followed by a notification within 3 s ({missing} missing)")
    workers = worker_pids(writer)
    ok(len(workers) == 1, f"one farmreg wakeup worker runs in the database (pids {workers})")
    ok(writer_pid not in senders and senders <= set(workers) and senders,
       f"every notification came from the wakeup worker {sorted(senders)}, none from the registering backend {writer_pid}")
    if latencies:
        diag(f"wakeup latency after commit: p50 {percentile(latencies, 50):.1f} ms,"
             f" p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms (40 registrations)")
        ok(percentile(latencies, 99) < 2000, "wakeups come well within seconds (p99 under 2 s)")

    # 2. a rolled-back registration wakes nobody
    listener.drain(0.5)
    listener.got.clear()
    with writer.transaction(force_rollback=True):
        register(writer, "wk")
    listener.drain(1.0)
    ok(not listener.got, f"a registration that rolled back woke nobody ({len(listener.got)} notifications)")

    # 3. coalescing: two writers flat out for a few seconds
    listener.got.clear()
    stop = time.monotonic() + 3
    counts = []

    def flat_out(prefix):
        c = connect(db)
        k = 0
        while time.monotonic() < stop:
            if register(c, prefix)[0]:
                k += 1
        counts.append(k)
        c.close()

    # 5. meanwhile, sample pg_locks for the NOTIFY queue lock
    notify_lock_holders = set()
    samples = [0]

    def sample_locks():
        c = connect(db)
        while time.monotonic() < stop:
            for (pid,) in c.execute(
                    "SELECT pid FROM pg_locks WHERE locktype = 'object' AND database = 0"
                    " AND classid = 'pg_database'::regclass AND objid = 0").fetchall():
                notify_lock_holders.add(pid)
            samples[0] += 1
            time.sleep(0.002)
        c.close()

    threads = [threading.Thread(target=flat_out, args=("wa",)),
               threading.Thread(target=flat_out, args=("wb",)),
               threading.Thread(target=sample_locks)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        listener.drain(0.1)
    for t in threads:
        t.join()
    listener.drain(0.5)
    elapsed = time.monotonic() - t0
    notes = len(listener.got)
    total = sum(counts)
    diag(f"coalescing: {total} registrations by 2 writers in {elapsed:.1f} s, {notes} notifications"
         f" ({notes / elapsed:.1f}/s)")
    ok(total > 20 and 1 <= notes <= elapsed * 11 + 3,
       f"at most about ten notifications a second ({notes} for {total} registrations)")
    workers = set(worker_pids(writer))
    ok(not (notify_lock_holders - workers),
       f"no registering backend took the NOTIFY queue lock ({samples[0]} pg_locks samples;"
       f" holders seen: {sorted(notify_lock_holders) or 'none'}, all of them the worker)")

    # 4. a terminated worker is replaced
    for pid in worker_pids(writer):
        writer.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
    listener.got.clear()
    t_sent = time.monotonic()
    register(writer, "wk")
    listener.drain(3)
    new_workers = worker_pids(writer)
    ok(listener.first_after(t_sent) is not None and len(new_workers) == 1
       and not set(new_workers) & workers,
       f"after the worker was terminated, the next registration started another ({new_workers}) and woke the listener")

    listener.conn.close()
    writer.close()

    # 6. DROP DATABASE right after registrations: the worker leaves in time
    admin = connect("postgres")
    admin.execute("DROP DATABASE IF EXISTS farmreg_wakeup_drop")
    admin.execute("CREATE DATABASE farmreg_wakeup_drop")
    c = connect("farmreg_wakeup_drop")
    c.execute("CREATE EXTENSION farmreg")
    c.execute("SET farmreg.password_opslimit = 1")
    c.execute("SET farmreg.password_memlimit = '8kB'")
    c.execute("INSERT INTO farmreg.usda_farms (usda_uid, name) VALUES ('W-1', 'W')")
    c.execute("SELECT ok FROM farmreg.register_farm_admin('dropper', 'pw-SECRET-wakeup-1', 'D',"
              " 'd@example.com', 'W-1')")
    deadline = time.monotonic() + 3
    had_worker = bool(worker_pids(c))
    while not had_worker and time.monotonic() < deadline:
        time.sleep(0.05)
        had_worker = bool(worker_pids(c))
    c.close()
    t0 = time.monotonic()
    try:
        admin.execute("DROP DATABASE farmreg_wakeup_drop")
        dropped, err = True, ""
    except psycopg.Error as e:
        dropped, err = False, str(e).strip()
    ok(had_worker and dropped,
       f"DROP DATABASE right after a registration succeeds: the worker got out of its way"
       f" in {time.monotonic() - t0:.2f} s {err}")
    admin.close()

    # 7. no free worker slot: the transaction notifies by itself, once warned
    if fallback_db:
        warnings = []
        c = connect(fallback_db)
        c.add_notice_handler(lambda d: warnings.append(d.message_primary))
        pid = c.info.backend_pid
        lst = Listener(fallback_db)
        t_sent = time.monotonic()
        first = register(c, "fb")
        second = register(c, "fb")
        lst.drain(1.0)
        hit = lst.first_after(t_sent)
        ok(first[0] and second[0] and hit is not None and hit[1] == pid,
           f"with no free worker slot, the registering transaction notifies by itself"
           f" (registered: {first}, {second}; notified by {hit and hit[1]}, the writer is {pid})")
        ok(len([w for w in warnings if "wakeup worker" in w]) == 1,
           f"and says so once per session ({warnings})")
        lst.conn.close()
        c.close()

    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
