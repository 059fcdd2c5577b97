#!/usr/bin/python3
"""A client of the failover suite (test/suites/failover.sh): registers farm
admins through a libpq multi-host connection string while the primary is
killed and failed over, or follows the outbox as a second consumer, and
writes down everything it sent and everything it got back.

  failover_client.py register --client N --mode single|batch ...
      Registers until the stop file appears (or --max-requests): single calls
      (farmreg.register_farm_admin) or batches of --batch-size
      (farmreg.register_farm_admins), each registration with its own
      idempotency key.  A request that gets no answer - the connection is
      lost or refused, the server is read-only (25006), shutting down
      (57P01), a serialization failure or deadlock - is sent again with the
      same key, on a new connection, until it is answered or --deadline
      passes.  Every --contest-every-th request asks for a farm from a small
      pool shared by all clients, so some are refused with
      farm_already_claimed, also across the failovers.

  failover_client.py audit --consumer NAME ...
      Polls the outbox (farmreg.poll_events) in small batches and
      acknowledges each batch (farmreg.ack_events), retrying the same way;
      the checker compares what it was given with the events table.

The journal (--journal) has one JSON object per line, flushed as written:
  {"t", "type": "request", "req", "kind", "items": [{key, username, email, name, usda_uid}]}
  {"t", "type": "failure", "req", "attempt", "sqlstate", "error"}
  {"t", "type": "answer",  "req", "attempt", "port", "rows": [[ok, user_id, farm_id,
                                                               farmer_id, error_code], ...]}
  {"t", "type": "poll", "port", "acked_before", "events": [[id, pos, user_id, type], ...]}
  {"t", "type": "ack", "port", "id", "pos", "result"}
  {"t", "type": "gave_up", "req"} when --deadline passed first
"t" is the wall clock (time.time()), so the suite can line it up with the
moments it killed a server.  Passwords never go into the journal.
"""

import argparse
import json
import os
import random
import sys
import time

import psycopg

# SQLSTATEs that say nothing about the request, only about the server or the
# transaction: the request may or may not have committed, so it is sent again
# with the same key.
RETRY_SQLSTATES = {
    "25006",    # read_only_sql_transaction: connected to a standby
    "40001",    # serialization_failure
    "40P01",    # deadlock_detected
    "57P01",    # admin_shutdown
    "57P02",    # crash_shutdown
    "57P03",    # cannot_connect_now
    "57014",    # query_canceled
}


def retryable(exc):
    if isinstance(exc, psycopg.OperationalError):
        return True     # lost, refused, timed out, class 08 and 57
    state = getattr(exc, "sqlstate", None)
    return state in RETRY_SQLSTATES or (state or "").startswith("08")


class Journal:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")

    def write(self, **rec):
        rec["t"] = time.time()
        self.f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self.f.flush()


class Session:
    """One connection at a time, replaced whenever a call fails."""

    def __init__(self, dsn, journal):
        self.dsn = dsn
        self.journal = journal
        self.conn = None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self.conn = None

    def call(self, req, deadline, fn):
        """fn(conn) until it returns; (attempts, port, result), or None at
        the deadline.  Every failure is written down."""
        attempt = 0
        delay = 0.02
        while True:
            attempt += 1
            try:
                if self.conn is None:
                    self.conn = psycopg.connect(self.dsn, autocommit=True)
                result = fn(self.conn)
                return attempt, self.conn.info.port, result
            except psycopg.Error as e:
                state = getattr(e, "sqlstate", None)
                self.journal.write(type="failure", req=req, attempt=attempt, sqlstate=state,
                                   error=type(e).__name__,
                                   message=(str(e).strip().splitlines() or [""])[0][:200])
                self.close()
                if not retryable(e):
                    raise
            if time.monotonic() > deadline:
                return None
            time.sleep(delay + random.uniform(0, delay))
            delay = min(0.2, delay * 2)


def register(args):
    journal = Journal(args.journal)
    session = Session(args.dsn, journal)
    rng = random.Random(f"failover-{args.client}")
    deadline = time.monotonic() + args.deadline
    n = 0
    for req in range(1, args.max_requests + 1):
        if os.path.exists(args.stop_file):
            break
        size = 1 if args.mode == "single" else args.batch_size
        items = []
        for j in range(size):
            n += 1
            tag = f"c{args.client}r{n}"
            if args.contest_every and n % args.contest_every == 0:
                usda = f"USDA-FO-SHARED-{rng.randrange(args.shared_farms)}"
            else:
                usda = f"USDA-FO-{args.client}-{n}"
            items.append({"key": f"fo-{tag}", "username": f"fo_{tag}",
                          "email": f"{tag}@failover.example", "name": f"Failover Farmer {tag}",
                          "usda_uid": usda})
        journal.write(type="request", req=req, kind=args.mode, items=items)
        # the password is never written down; it has the marker that the
        # suite greps the servers' logs for
        if args.mode == "single":
            it = items[0]
            params = (it["username"], f"pw-SECRET-fo-{it['key']}", it["name"], it["email"],
                      it["usda_uid"], it["key"])

            def fn(conn, params=params):
                row = conn.execute(
                    "SELECT ok, user_id, farm_id, farmer_id, error_code"
                    " FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s, %s)", params).fetchone()
                return [list(row)]
        else:
            body = json.dumps([{"username": it["username"], "password": f"pw-SECRET-fo-{it['key']}",
                                "name": it["name"], "email": it["email"], "usda_uid": it["usda_uid"],
                                "idempotency_key": it["key"]} for it in items])

            def fn(conn, body=body):
                rows = conn.execute(
                    "SELECT ok, user_id, farm_id, farmer_id, error_code"
                    " FROM farmreg.register_farm_admins(%s::jsonb) ORDER BY ordinal", (body,)).fetchall()
                return [list(r) for r in rows]
        got = session.call(req, deadline, fn)
        if got is None:
            journal.write(type="gave_up", req=req)
            break
        attempts, port, rows = got
        journal.write(type="answer", req=req, attempt=attempts, port=port, rows=rows)
        time.sleep(args.pause * rng.uniform(0.5, 1.5))
    session.close()
    return 0


def audit(args):
    journal = Journal(args.journal)
    session = Session(args.dsn, journal)
    deadline = time.monotonic() + args.deadline
    acked_pos = None    # the position of the last event whose ack returned true
    idle_polls = 0
    poll_no = 0
    while True:
        poll_no += 1
        got = session.call(
            f"poll{poll_no}", deadline,
            lambda conn: conn.execute(
                "SELECT id, pos, user_id, type FROM farmreg.poll_events(%s, %s) ORDER BY pos",
                (args.consumer, args.batch_size)).fetchall())
        if got is None:
            journal.write(type="gave_up", req=f"poll{poll_no}")
            return 1
        _, port, events = got
        journal.write(type="poll", port=port, acked_before=acked_pos,
                      events=[list(e) for e in events])
        if events:
            idle_polls = 0
            last_id, last_pos = events[-1][0], events[-1][1]
            got = session.call(
                f"ack{poll_no}", deadline,
                lambda conn: conn.execute("SELECT farmreg.ack_events(%s, %s)",
                                          (args.consumer, last_id)).fetchone()[0])
            if got is None:
                journal.write(type="gave_up", req=f"ack{poll_no}")
                return 1
            _, port, result = got
            journal.write(type="ack", port=port, id=last_id, pos=last_pos, result=result)
            if result:
                acked_pos = last_pos
        else:
            idle_polls += 1
            # the stop file says the registrations are over; a few empty
            # polls after that say the backlog is done
            if os.path.exists(args.stop_file) and idle_polls >= 3:
                break
            time.sleep(args.pause)
    session.close()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("register", "audit"):
        p = sub.add_parser(name)
        p.add_argument("--dsn", required=True)
        p.add_argument("--journal", required=True)
        p.add_argument("--stop-file", required=True)
        p.add_argument("--deadline", type=float, default=200.0,
                       help="seconds after which an unanswered request is given up")
        p.add_argument("--pause", type=float, default=0.03)
        p.add_argument("--batch-size", type=int, default=5)
    r = sub.choices["register"]
    r.add_argument("--client", type=int, required=True)
    r.add_argument("--mode", choices=("single", "batch"), required=True)
    r.add_argument("--max-requests", type=int, default=3000)
    r.add_argument("--contest-every", type=int, default=15)
    r.add_argument("--shared-farms", type=int, default=40)
    a = sub.choices["audit"]
    a.add_argument("--consumer", required=True)
    args = ap.parse_args(argv)
    return register(args) if args.cmd == "register" else audit(args)


if __name__ == "__main__":
    sys.exit(main())
