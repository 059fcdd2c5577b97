#!/usr/bin/python3
"""The checks of the failover suite (test/suites/failover.sh), once the run is
over: the clients' journals (test/helpers/failover_client.py), the audit
consumer's journal, the sync worker's log and the fake provider's state,
against the tables of the final primary.  Prints `ok - ...` / `not ok - ...`
lines and the figures as `# ...` lines.

  --work DIR        the suite's scratch directory: client-N.jsonl,
                    audit.jsonl, timeline
  --dsn DSN         the final primary, as a superuser
  --idp-url URL     the fake provider (its /_admin/state)
  --worker-log F    the sync worker's log
"""

import argparse
import glob
import json
import os
import re
import statistics
import sys
import urllib.request

import psycopg

checks = 0
failures = 0


def ok(cond, desc, diag=None):
    global checks, failures
    checks += 1
    print(("ok - " if cond else "not ok - ") + desc, flush=True)
    if not cond:
        failures += 1
        for line in (diag or []) if not isinstance(diag, str) else diag.splitlines():
            print(f"#   {line}", flush=True)
    return cond


def figure(text):
    print(f"# {text}", flush=True)


def sample(items, n=10):
    items = list(items)
    return [str(x) for x in items[:n]] + ([f"... {len(items) - n} more"] if len(items) > n else [])


def read_journal(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def read_timeline(path):
    """{name: (t, [args])} of what the suite did."""
    marks = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if parts:
                marks[parts[0]] = (float(parts[1]), parts[2:])
    return marks


# ---------------------------------------------------------------------------
# The clients
# ---------------------------------------------------------------------------

class Client:
    def __init__(self, path):
        self.name = os.path.basename(path)
        self.records = read_journal(path)
        self.requests = {}      # req -> request record
        self.answers = {}       # req -> answer record
        self.failures = []      # failure records
        self.gave_up = []
        for r in self.records:
            if r["type"] == "request":
                self.requests[r["req"]] = r
            elif r["type"] == "answer":
                self.answers[r["req"]] = r
            elif r["type"] == "failure":
                self.failures.append(r)
            elif r["type"] == "gave_up":
                self.gave_up.append(r["req"])


def outage(clients, t_event, new_port):
    """Per client: first failed request at or after t_event -> first answer
    from new_port after it (seconds), for the clients that saw a failure."""
    spans = []
    for c in clients:
        fails = [f["t"] for f in c.failures if f["t"] >= t_event]
        if not fails:
            continue
        first_fail = min(fails)
        oks = [a["t"] for a in c.answers.values() if a["t"] > first_fail and a["port"] == new_port]
        if oks:
            spans.append(min(oks) - first_fail)
        else:
            spans.append(None)
    return spans


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--idp-url", required=True)
    ap.add_argument("--worker-log", required=True)
    ap.add_argument("--run-seconds", type=int, default=0)
    args = ap.parse_args()

    marks = read_timeline(os.path.join(args.work, "timeline"))
    clients = [Client(p) for p in sorted(glob.glob(os.path.join(args.work, "client-*.jsonl")))]
    db = psycopg.connect(args.dsn, autocommit=True)

    # -- every request answered -------------------------------------------------
    unanswered = [(c.name, req) for c in clients for req in c.requests if req not in c.answers]
    requests = sum(len(c.requests) for c in clients)
    ok(not unanswered and requests > 0,
       f"every one of the {requests} requests of the {len(clients)} clients was answered"
       " (retried with the same key until it was)",
       sample(unanswered))

    # what the clients were told, item by item: key -> (item, row, answer)
    told = {}
    for c in clients:
        for req, rq in c.requests.items():
            ans = c.answers.get(req)
            if ans is None:
                continue
            if len(ans["rows"]) != len(rq["items"]):
                ok(False, f"{c.name} request {req}: {len(ans['rows'])} result rows for"
                          f" {len(rq['items'])} requests")
                continue
            for item, row in zip(rq["items"], ans["rows"]):
                told[item["key"]] = (item, row, ans)
    told_ok = {k: v for k, v in told.items() if v[1][0]}
    told_no = {k: v for k, v in told.items() if not v[1][0]}

    # -- the tables ---------------------------------------------------------------
    users = {r[0]: r for r in db.execute(
        "SELECT id, username, email, name FROM farmreg.users").fetchall()}
    farms = {r[0]: r for r in db.execute(
        "SELECT f.id, u.usda_uid FROM farmreg.farms f"
        " LEFT JOIN farmreg.usda_farms u ON u.id = f.usda_farm_id").fetchall()}
    farmers = {r[0]: r for r in db.execute(
        "SELECT id, user_id, farm_id, is_admin FROM farmreg.farmers").fetchall()}
    keys = {r[0]: r for r in db.execute(
        "SELECT key, user_id, farm_id, farmer_id, extract(epoch FROM created_at)::float8"
        " FROM farmreg.idempotency_keys").fetchall()}
    user_by_name = {r[1].lower(): r for r in users.values()}

    # every acknowledged registration, with the ids it was given
    lost = []
    for key, (item, row, ans) in told_ok.items():
        _, uid, fid, frid, _ = row
        u, f, fr, k = users.get(uid), farms.get(fid), farmers.get(frid), keys.get(key)
        good = (u is not None and u[1] == item["username"] and u[2] == item["email"]
                and f is not None and f[1] == item["usda_uid"]
                and fr is not None and fr[1] == uid and fr[2] == fid and fr[3]
                and k is not None and (k[1], k[2], k[3]) == (uid, fid, frid))
        if not good:
            lost.append(f"{key}: told user {uid} farm {fid} farmer {frid} (answered by port"
                        f" {ans['port']}); tables: user {u}, farm {f}, farmer {fr}, key {k}")
    ok(not lost, f"each of the {len(told_ok)} registrations answered ok is in the tables with the"
                 " ids it was given (user, farm, farmer and its key)", sample(lost))

    # each key maps to one registration; nothing registered that no one was told about
    extra_keys = sorted(set(keys) - set(told_ok))
    shared = [u for u, n in _count(k[1] for k in keys.values()).items() if n > 1]
    ok(not extra_keys and not shared and len(keys) == len(told_ok),
       f"{len(keys)} idempotency keys, each mapping to one registration of its own, all of"
       " them answered ok",
       sample([f"key not answered ok: {k} -> {keys[k][1:]}" for k in extra_keys]
              + [f"user {u} under two keys" for u in shared]))

    # refused requests left nothing behind; and the only refusal is the contested farm
    refused_left = [k for k, (item, row, _) in told_no.items()
                    if k in keys or item["username"].lower() in user_by_name]
    codes = _count(row[4] for _, row, _ in told_no.values())
    unexpected = {c: n for c, n in codes.items() if c != "farm_already_claimed"}
    uncontested = [k for k, (item, row, _) in told_no.items() if "SHARED" not in item["usda_uid"]]
    ok(not refused_left and not unexpected and not uncontested,
       f"{len(told_no)} requests refused, all farm_already_claimed for a farm several clients"
       " asked for, none of them left a row or a key",
       sample(refused_left) + [f"codes: {unexpected}"] * bool(unexpected) + sample(uncontested))

    # duplicates: a request that registered twice would come back refused by its
    # own first registration (its username taken), or hold two users
    self_conflicts = [k for k, (item, row, _) in told_no.items()
                      if row[4] in ("username_taken", "email_already_claimed")]
    dup_users = db.execute(
        "SELECT count(*) FROM (SELECT lower(email) FROM farmreg.users GROUP BY 1 HAVING count(*) > 1) d"
    ).fetchone()[0]
    duplicates = len(self_conflicts) + dup_users

    # no orphan rows
    told_users = {row[1] for _, row, _ in told_ok.values()}
    orphans = db.execute("""
        SELECT (SELECT count(*) FROM farmreg.users u
                 WHERE NOT EXISTS (SELECT FROM farmreg.farmers f WHERE f.user_id = u.id)),
               (SELECT count(*) FROM farmreg.farms m
                 WHERE NOT EXISTS (SELECT FROM farmreg.farmers f WHERE f.farm_id = m.id)),
               (SELECT count(*) FROM farmreg.farmers f
                 WHERE NOT f.is_admin
                    OR (SELECT count(*) FROM farmreg.farmers g WHERE g.user_id = f.user_id) <> 1
                    OR (SELECT count(*) FROM farmreg.farmers g WHERE g.farm_id = f.farm_id) <> 1)
    """).fetchone()
    untold = sorted(set(users) - told_users)
    ok(orphans == (0, 0, 0) and not untold and len(users) == len(farms) == len(farmers) == len(told_ok),
       f"no orphan rows: {len(users)} users, {len(farms)} farms, {len(farmers)} farmer rows, one"
       " admin each, every user one a client was told about",
       [f"users without farmer {orphans[0]}, farms without farmer {orphans[1]},"
        f" odd farmer rows {orphans[2]}"] + sample(f"user {u} {users[u][1]} never answered" for u in untold))

    # -- the outbox ---------------------------------------------------------------
    events = db.execute(
        "SELECT id, pos, type, user_id, payload FROM farmreg.events ORDER BY pos").fetchall()
    ev_users = _count(e[3] for e in events if e[2] == "farm_admin_registered")
    bad_ev = [e[0] for e in events
              if e[2] != "farm_admin_registered" or e[3] not in users
              or e[4].get("username") != users[e[3]][1] or e[4].get("email") != users[e[3]][2]]
    missing_ev = [u for u in users if ev_users.get(u, 0) != 1]
    ok(not bad_ev and not missing_ev,
       f"{len(events)} events: one farm_admin_registered per user, with its username and e-mail",
       sample(f"event {e}" for e in bad_ev) + sample(f"user {u}: {ev_users.get(u, 0)} events" for u in missing_ev))

    positions = [e[1] for e in events]
    ok(positions == list(range(1, len(events) + 1)),
       "delivery positions are 1..N, one per event, with no gap across the promotions",
       [f"positions: {sample(positions, 20)}"])
    consumers = dict(db.execute("SELECT consumer, acked_pos FROM farmreg.event_consumers").fetchall())
    ok(consumers.get("identity-sync") == len(events) and consumers.get("audit") == len(events),
       f"both consumers acknowledged position {len(events)}, the last", [f"consumers: {consumers}"])

    # The audit consumer: every event given to it, each time with the same
    # position and user, and never a position past the ones it had been
    # given plus one (a skip).
    pos_of = {e[0]: (e[1], e[3]) for e in events}
    audit = read_journal(os.path.join(args.work, "audit.jsonl"))
    polls = [r for r in audit if r["type"] == "poll"]
    seen = {}
    skips = []
    unstable = []
    ghosts = []
    furthest = 0
    redelivered_audit = 0
    for p in polls:
        evs = p["events"]
        if evs and evs[0][1] > furthest + 1:
            skips.append(f"poll at {p['t']:.3f} (port {p['port']}) started at position {evs[0][1]}"
                         f" after position {furthest}")
        prev = None
        for eid, pos, uid, _ in evs:
            if prev is not None and pos != prev + 1:
                skips.append(f"poll at {p['t']:.3f}: position {pos} after {prev}")
            prev = pos
            if eid in seen:
                redelivered_audit += 1
                if seen[eid] != (pos, uid):
                    unstable.append(f"event {eid}: {seen[eid]} then {(pos, uid)}")
            seen[eid] = (pos, uid)
            if pos_of.get(eid) != (pos, uid):
                ghosts.append(f"event {eid} given as {(pos, uid)}, the table has {pos_of.get(eid)}")
            furthest = max(furthest, pos)
    never = sorted(set(pos_of) - set(seen))
    ok(not skips and not never and not unstable and not ghosts,
       f"the audit consumer was given all {len(events)} events in {len(polls)} polls across both"
       " promotions: no position skipped, each event always at the same position, none that the"
       " final primary does not have",
       sample(skips) + sample(f"never given event {e}" for e in never) + sample(unstable) + sample(ghosts))

    # The sync worker: each event id it handled is one of the table's, and it
    # handled all of them, in delivery order the first time.
    handled = []
    with open(args.worker_log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r"event (\d+) \(farm_admin_registered, user (\d+)\): account \S+"
                          r" (?:created|exists already)", line)
            if m:
                handled.append((int(m.group(1)), int(m.group(2))))
    first_seen = []
    seen_w = set()
    for eid, uid in handled:
        if eid not in seen_w:
            seen_w.add(eid)
            first_seen.append(eid)
    order = [pos_of[e][0] for e in first_seen if e in pos_of]
    foreign = [f"event {e} user {u}" for e, u in handled if pos_of.get(e, (None, None))[1] != u]
    ok(seen_w == set(pos_of) and order == sorted(order) and not foreign,
       f"the sync worker created an account for every one of the {len(pos_of)} events, first in"
       " delivery order, and for no event the final primary does not have",
       sample(f"not handled: {e}" for e in sorted(set(pos_of) - seen_w)) + sample(foreign)
       + ([f"out of order: {sample(order, 20)}"] if order != sorted(order) else []))
    reconnects = 0
    with open(args.worker_log, encoding="utf-8", errors="replace") as f:
        reconnects = sum("reconnecting" in line for line in f)
    ok(reconnects >= 2, f"the sync worker reconnected by itself ({reconnects} reconnection attempts"
                        " logged across the two failovers)")

    # -- the provider -------------------------------------------------------------
    with urllib.request.urlopen(args.idp_url + "/_admin/state", timeout=10) as resp:
        state = json.loads(resp.read())
    accounts = state["accounts"]
    stats = state["stats"]
    by_ext = _count(a["external_id"] for a in accounts)
    wrong = [a["external_id"] for a in accounts
             if not a["external_id"].isdigit() or int(a["external_id"]) not in users
             or users[int(a["external_id"])][1] != a["username"]
             or users[int(a["external_id"])][2] != a["email"]]
    no_account = sorted(u for u in users if by_ext.get(str(u), 0) != 1)
    created_twice = stats["created"] - len(accounts) + stats["conflicts"] + stats["key_reused"]
    ok(not wrong and not no_account and len(accounts) == len(users) and created_twice == 0,
       f"the provider holds {len(accounts)} accounts: each user exactly once, none without a user,"
       " none created twice",
       sample(f"account for {e} does not match a user" for e in wrong)
       + sample(f"user {u}: {by_ext.get(str(u), 0)} accounts" for u in no_account)
       + [f"provider stats: {stats}"])

    # -- figures ------------------------------------------------------------------
    ok(duplicates == 0, f"duplicates: {duplicates}",
       sample(self_conflicts) + [f"e-mails held twice: {dup_users}"])
    ok(not lost, f"acknowledged registrations lost: {len(lost)}")

    retried = [(c.name, a["req"], a["attempt"]) for c in clients for a in c.answers.values()
               if a["attempt"] > 1]
    regs_retried = sum(len(c.requests[req]["items"]) for c in clients for req, a in c.answers.items()
                       if a["attempt"] > 1)
    figure(f"run: {args.run_seconds} s, {len(clients)} clients, {requests} requests"
           f" ({sum(len(r['items']) for c in clients for r in c.requests.values())} registrations"
           f" asked for), {len(told_ok)} registered, {len(told_no)} refused (a contested farm)")
    for name, event, args_idx in (("SIGKILL of the primary", "kill", 1),
                                  ("pg_autoctl perform failover", "switchover", 1)):
        if event not in marks:
            continue
        t_event, ports = marks[event]
        spans = outage(clients, t_event, int(ports[args_idx]))
        got = [s for s in spans if s is not None]
        if got:
            figure(f"failover as the clients saw it ({name}): {min(got):.1f}-{max(got):.1f} s"
                   f" (median {statistics.median(got):.1f} s) from a client's first failed request"
                   f" to its first answer from the new primary, {len(got)} of {len(clients)} clients")
        ok(len(got) == len(spans) == len(clients),
           f"every client failed over to the new primary after the {name}",
           [f"spans: {spans}"])
    for what, a, b in (("promotion", "kill", "promoted"), ("rejoin", "rejoin", "rejoined"),
                       ("switchover", "switchover", "switched")):
        if a in marks and b in marks:
            figure(f"pg_auto_failover {what}: {marks[b][0] - marks[a][0]:.1f} s as the monitor reported it")
    kinds = _count(f["sqlstate"] or f["error"] for c in clients for f in c.failures)
    # A retried registration whose key was written before the request's first
    # failure had committed on the attempt that got no answer: the retry was
    # answered from its key.  The others were registered by the retry.
    from_key = anew = 0
    for c in clients:
        first_fail = {}
        for f in c.failures:
            first_fail.setdefault(f["req"], f["t"])
        for req, a in c.answers.items():
            if a["attempt"] == 1:
                continue
            for item, row in zip(c.requests[req]["items"], a["rows"]):
                k = keys.get(item["key"])
                if row[0] and k is not None:
                    if k[4] < first_fail[req]:
                        from_key += 1
                    else:
                        anew += 1
    figure(f"requests retried: {len(retried)} ({regs_retried} registrations), after"
           f" {sum(len(c.failures) for c in clients)} failed attempts: "
           + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
           + f"; of the retried registrations, {from_key} answered from the key (the lost attempt"
             f" had committed), {anew} registered by the retry")
    # the suite held node2's WAL receiver for a second before the kill, so
    # that commits reach the standby without their answers reaching the
    # clients: those retries must come back from their keys
    ok(from_key > 0, f"{from_key} retried registrations had committed on the old primary and its"
                     " standby without an answer: each retry got that registration's ids back from its key")
    figure(f"duplicates: {duplicates}; acknowledged registrations lost: {len(lost)}")
    figure(f"events: {len(events)}; redelivered to the provider (idempotent replays):"
           f" {stats['replayed']}; handled again by the worker: {len(handled) - len(seen_w)};"
           f" accounts created twice: {created_twice}; given again to the audit consumer:"
           f" {redelivered_audit}")
    return 0


def _count(items):
    out = {}
    for x in items:
        out[x] = out.get(x, 0) + 1
    return out


if __name__ == "__main__":
    sys.exit(main())
