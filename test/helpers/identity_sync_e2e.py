#!/usr/bin/python3
"""End to end: farmreg's outbox, the identity sync worker and a flaky fake
identity provider.  Run by test/suites/identity_sync.sh (make test) with the
test cluster's coordinates in PGHOST / PGPORT / PGUSER; prints TAP-style
`ok - ...` / `not ok - ...` lines and `# ...` figures.

  1. E2E_REGISTRATIONS (default 500) registrations - single calls (some sent
     twice with the same idempotency key) and batches - plus a few that roll
     back, while the provider fails E2E_TRANSIENT_RATE (20%) of its requests
     transiently and rejects E2E_REJECT_RATE (5%) of the e-mail addresses for
     good.  An operator deregisters some users half way and registers a few
     of their addresses again.
  2. The worker: first with a wrong provider token (nothing may be undone,
     nothing acknowledged, SIGTERM stops it); then killed by its own crash
     points (after the poll, after the account was created, after a
     rejection, inside the deregistration transaction, after a deletion,
     after an ack); then killed twice from outside (SIGKILL) mid-run, each
     time restarted; finally stopped with SIGTERM once everything is acked.
  3. Checks: every remaining user exists exactly once in the provider (same
     username, e-mail); every rejected address was deregistered (no user row,
     a farm_admin_deregistered event with the provider's reason) and nothing
     else was; the provider holds no account without a user; no rolled-back
     registration reached it; no password and no e-mail address in any log.
  4. A full replay after the provider forgot every idempotency key: the
     consumer is reset to the start, and the worker goes through everything
     again - afterwards the provider holds the same accounts (same ids) and
     farmreg the same users.
"""

import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import psycopg

ROOT = os.environ.get("FARMREG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "examples", "identity-sync")
sys.path.insert(0, EXAMPLE)
from fake_idp import is_rejected  # noqa: E402

PY = "/usr/bin/python3"
N = int(os.environ.get("E2E_REGISTRATIONS", "500"))
SEED = os.environ.get("E2E_SEED", "farmreg-e2e-1")
TRANSIENT = float(os.environ.get("E2E_TRANSIENT_RATE", "0.2"))
REJECT = float(os.environ.get("E2E_REJECT_RATE", "0.05"))
HTTP_TIMEOUT = 0.4          # the worker's; the provider's slow responses take longer
SLOW_SECONDS = 0.6
DB = os.environ.get("E2E_DATABASE", "identity_sync_e2e")
CONSUMER = "identity-sync"
ROLE = "farmreg_identity_sync"
TOKEN = "e2e-token"
WORK = os.environ.get("E2E_WORKDIR") or tempfile.mkdtemp(prefix="identity-sync-e2e.")
ROLLED_BACK = 5
BATCH_SIZE = 50
SINGLE_SHARE = 0.6
CRASH_POINTS = ["after_poll:1", "after_create:3", "after_reject:1", "in_reject_txn:1",
                "after_ack:3", "after_delete:1"]
rng = random.Random(SEED)

failures = 0
checks = 0
children = {}               # pid -> Popen
figures = []
t_start = time.monotonic()


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------

def ok(cond, desc, diag=None):
    global failures, checks
    checks += 1
    print(("ok - " if cond else "not ok - ") + desc, flush=True)
    if not cond:
        failures += 1
        if diag:
            for line in str(diag).splitlines()[:30]:
                print(f"#   {line}", flush=True)
    return cond


def note(text):
    print(f"# {text}", flush=True)


def figure(text):
    figures.append(text)


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

def remember(proc):
    children[proc.pid] = proc
    with open(os.path.join(WORK, "pids"), "a", encoding="utf-8") as f:
        f.write(f"{proc.pid}\n")
    return proc


def stop_all():
    for pid, proc in list(children.items()):
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 5
    for pid, proc in list(children.items()):
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def on_term(signum, frame):
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, on_term)

idp_port = None


def idp(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{idp_port}{path}", data=data,
                                 method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def start_idp():
    global idp_port
    port_file = os.path.join(WORK, "idp.port")
    proc = remember(subprocess.Popen(
        [PY, os.path.join(EXAMPLE, "fake_idp.py"), "--port", "0", "--port-file", port_file,
         "--seed", SEED, "--transient-rate", str(TRANSIENT), "--reject-rate", str(REJECT),
         "--slow-seconds", str(SLOW_SECONDS), "--token", TOKEN,
         "--state-file", os.path.join(WORK, "idp-state.json"),
         "--log-file", os.path.join(WORK, "idp.log")],
        stdin=subprocess.DEVNULL))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if os.path.exists(port_file):
            idp_port = int(open(port_file, encoding="utf-8").read())
            try:
                idp("/_admin/health")
                return proc
            except OSError:
                pass
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("the fake identity provider did not start (see idp.log)")


worker_runs = 0


def start_worker(crash_at=None, token=TOKEN):
    global worker_runs
    worker_runs += 1
    env = dict(os.environ, PGUSER=ROLE, PGDATABASE=DB, IDP_URL=f"http://127.0.0.1:{idp_port}",
               IDP_TOKEN=token, PGAPPNAME="identity-sync-e2e")
    env.pop("IDENTITY_SYNC_CRASH_AT", None)
    if crash_at:
        env["IDENTITY_SYNC_CRASH_AT"] = crash_at
    logf = open(os.path.join(WORK, f"worker-{worker_runs:02d}.log"), "w", encoding="utf-8")
    proc = subprocess.Popen(
        [PY, os.path.join(EXAMPLE, "identity_sync.py"), "--consumer", CONSUMER,
         "--http-timeout", str(HTTP_TIMEOUT), "--backoff-initial", "0.02", "--backoff-max", "0.5",
         "--poll-interval", "30", "--batch-size", "100"],
        env=env, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    return remember(proc)


def worker_logs():
    text = ""
    for name in sorted(os.listdir(WORK)):
        if name.startswith("worker-") and name.endswith(".log"):
            with open(os.path.join(WORK, name), encoding="utf-8", errors="replace") as f:
                text += f.read()
    return text


# ---------------------------------------------------------------------------
# Database
# ---------------------------------------------------------------------------

def connect(dbname=DB):
    return psycopg.connect(dbname=dbname, autocommit=True)


def scalar(conn, sql, params=None):
    return conn.execute(sql, params).fetchone()[0]


def setup_database():
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
        admin.execute(f"""
            DO $$ BEGIN
                IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{ROLE}') THEN
                    CREATE ROLE {ROLE} LOGIN;
                END IF;
            END $$""")
    with connect() as db:
        db.execute("CREATE EXTENSION farmreg")
        db.execute("INSERT INTO farmreg.usda_farms (usda_uid, name)"
                   " SELECT 'USDA-E2E-' || g, 'E2E Farm ' || g FROM generate_series(1, %s) AS g",
                   (N + ROLLED_BACK + 10,))
        # what the worker's role needs, and nothing else
        db.execute(f"GRANT EXECUTE ON FUNCTION farmreg.poll_events(text, integer),"
                   f" farmreg.ack_events(text, bigint), farmreg.deregister_farm_admin(bigint, text)"
                   f" TO {ROLE}")


def drop_database():
    with connect("postgres") as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"DROP ROLE IF EXISTS {ROLE}")


def progress(db):
    """(acked events, all events) for the worker's consumer."""
    return db.execute(
        "SELECT (SELECT count(*) FROM farmreg.events e, farmreg.event_consumers c"
        "         WHERE c.consumer = %s AND e.pos <= c.acked_pos),"
        "       (SELECT count(*) FROM farmreg.events)", (CONSUMER,)).fetchone()


# ---------------------------------------------------------------------------
# Registrations
# ---------------------------------------------------------------------------

def email_of(i):
    return f"farmer{i}@e2e.example"


def request_of(i, username=None):
    return {"username": username or f"farmer{i}", "password": f"pw-SECRET-e2e-{i}",
            "name": f"Farmer {i}", "email": email_of(i), "usda_uid": f"USDA-E2E-{i}"}


class Driver(threading.Thread):
    """The application: registers farm admins in waves, single calls and
    batches mixed; then (operator=True) an operator deregisters some users
    and a few of their addresses sign up again."""

    def __init__(self, indexes, operator=None, pause=0.0):
        super().__init__(daemon=True)
        self.indexes = indexes
        self.operator = operator    # (users registered before, rejected indexes)
        self.pause = pause
        self.by_operator = []
        self.again = []
        self.reregistered = {}
        self.user_of = {}           # index -> user id
        self.singles = 0
        self.batches = 0
        self.in_batches = 0
        self.key_retries = 0
        self.errors = []
        self.done = threading.Event()

    def run(self):
        try:
            with connect() as db:
                db.execute("SET farmreg.password_opslimit = 1")
                db.execute("SET farmreg.password_memlimit = '8kB'")
                self.register(db)
                if self.operator is not None:
                    self.deregister_some(db)
        except Exception as e:  # noqa: BLE001 - reported as a check
            self.errors.append(repr(e))
        finally:
            self.done.set()

    def single(self, db, i, key=None):
        r = request_of(i)
        row = db.execute(
            "SELECT ok, user_id, error_code FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s, %s)",
            (r["username"], r["password"], r["name"], r["email"], r["usda_uid"], key)).fetchone()
        self.singles += 1
        if not row[0]:
            self.errors.append(f"single {i}: {row[2]}")
        return row[1]

    def register(self, db):
        todo = list(self.indexes)
        while todo:
            wave = todo[:BATCH_SIZE * 2]
            todo = todo[len(wave):]
            nsingle = int(len(wave) * SINGLE_SHARE)
            for i in wave[:nsingle]:
                key = f"signup-{i}" if i % 10 == 0 else None
                self.user_of[i] = self.single(db, i, key)
                if key:
                    # the app retries (a lost response): same key, same user, no new event
                    again = self.single(db, i, key)
                    self.key_retries += 1
                    if again != self.user_of[i]:
                        self.errors.append(f"key retry {i}: user {again} instead of {self.user_of[i]}")
            batch = wave[nsingle:]
            if batch:
                rows = db.execute(
                    "SELECT ordinal, ok, user_id, error_code FROM farmreg.register_farm_admins(%s)"
                    " ORDER BY ordinal",
                    (json.dumps([request_of(i) for i in batch]),)).fetchall()
                self.batches += 1
                self.in_batches += len(batch)
                for (ordinal, okay, uid, code), i in zip(rows, batch):
                    if okay:
                        self.user_of[i] = uid
                    else:
                        self.errors.append(f"batch {i}: {code}")
            time.sleep(self.pause)

    def deregister_some(self, db):
        # not rejected users: those have accounts, or will have
        earlier, rejected = self.operator
        user_of = dict(earlier)
        user_of.update(self.user_of)
        candidates = sorted(i for i in user_of if i not in rejected)
        self.by_operator = sorted(rng.sample(candidates, min(10, len(candidates))))
        self.again = self.by_operator[: len(self.by_operator) // 2]
        for i in self.by_operator:
            if not scalar(db, "SELECT farmreg.deregister_farm_admin(%s, %s)",
                          (user_of[i], "operator: account closed on request")):
                self.errors.append(f"operator: farmer{i} was not there to deregister")
        for i in self.again:
            r = request_of(i, username=f"farmer{i}-again")
            row = db.execute(
                "SELECT ok, user_id, error_code FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s)",
                (r["username"], r["password"], r["name"], r["email"], r["usda_uid"])).fetchone()
            if not row[0]:
                self.errors.append(f"farmer{i} again: {row[2]}")
            self.reregistered[i] = row[1]


def rolled_back_registrations(db):
    """Registrations whose transaction rolls back: never delivered."""
    emails = []
    for j in range(ROLLED_BACK):
        i = N + 1 + j
        r = request_of(i, username=f"ghost{i}")
        r["email"] = f"ghost{i}@e2e.example"
        with db.transaction():
            db.execute("SET LOCAL farmreg.password_opslimit = 1")
            db.execute("SET LOCAL farmreg.password_memlimit = '8kB'")
            db.execute("SELECT ok FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s)",
                       (r["username"], r["password"], r["name"], r["email"], r["usda_uid"]))
            db.execute("SELECT pg_sleep(0.05)")
            raise psycopg.Rollback()
        emails.append(r["email"])
    return emails


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

def wait_caught_up(db, proc, timeout, driver=None):
    """Until every event is acknowledged (and stays so for a moment)."""
    deadline = time.monotonic() + timeout
    stable_since = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        acked, total = progress(db)
        busy = driver is not None and not driver.done.is_set()
        if acked == total and not busy:
            stable_since = stable_since or time.monotonic()
            if time.monotonic() - stable_since > 1.0:
                return True
        else:
            stable_since = None
        time.sleep(0.1)
    return False


def wait_exit(proc, timeout):
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def main():
    os.makedirs(WORK, exist_ok=True)
    note(f"E2E_REGISTRATIONS={N}, provider failing {TRANSIENT:.0%} transiently and rejecting"
         f" {REJECT:.0%} of e-mails (seed {SEED}); scratch files in {WORK}")
    setup_database()
    start_idp()
    db = connect()
    phase = time.monotonic()

    rejected = {i for i in range(1, N + 1) if is_rejected(email_of(i), SEED, REJECT)}

    # The first registrations, before any worker runs.
    first = list(range(1, min(N, 20) + 1))
    d0 = Driver(first)
    d0.run()
    ok(not d0.errors, f"the first {len(first)} registrations succeed", "\n".join(d0.errors))
    ghosts = rolled_back_registrations(db)

    # A worker with a wrong token: the provider answers 401, which says
    # nothing about the users - it must undo nothing and acknowledge nothing.
    w = start_worker(token="wrong-token")
    time.sleep(2.0)
    acked, total = progress(db)
    deregs = scalar(db, "SELECT count(*) FROM farmreg.events WHERE type = 'farm_admin_deregistered'")
    ok(w.poll() is None and acked == 0 and deregs == 0 and total == len(first),
       "a worker the provider refuses (HTTP 401) keeps retrying: nothing undone, nothing acknowledged",
       f"running={w.poll() is None} acked={acked} events={total} deregistrations={deregs}")
    w.send_signal(signal.SIGTERM)
    rc = wait_exit(w, 10)
    ok(rc == 0, "SIGTERM stops the worker in its backoff, with status 0", f"exit status {rc}")
    log401 = worker_logs()
    ok("HTTP 401" in log401 and "ERROR" in log401, "the refusal is logged as an error")

    # The application goes on registering while the worker works, and an
    # operator deregisters some users half way.
    driver = Driver(list(range(len(first) + 1, N + 1)), operator=(d0.user_of, rejected), pause=0.3)
    driver.start()

    # Two kills from outside, mid-run (at a quarter and at half of the
    # registrations acknowledged), each followed by a restart.
    kills = 0
    external = []
    w = start_worker()
    for k in (1, 2):
        target = N * k // 4
        deadline = time.monotonic() + 60 + N * 0.1
        while time.monotonic() < deadline and progress(db)[0] < target and w.poll() is None:
            time.sleep(0.02)
        a, t = progress(db)
        w.send_signal(signal.SIGKILL)
        w.wait()
        external.append(f"{a} of {t}")
        ok(a < t and a >= target, f"worker killed from outside (SIGKILL) mid-run, {a} of {t} events"
           " acknowledged, and restarted")
        kills += 1
        if k == 1:
            w = start_worker()
    figure(f"external kills: {len(external)} SIGKILL, with {' and '.join(external)} events acknowledged")

    driver.join(120)
    ok(not driver.is_alive() and not driver.errors,
       f"{N - len(first)} more registrations: {driver.singles} single calls"
       f" ({driver.key_retries} retried with the same idempotency key) and {driver.batches} batches;"
       f" {len(driver.by_operator)} deregistered by the operator, {len(driver.again)} registered again",
       "\n".join(driver.errors[:20]))
    user_of = dict(d0.user_of)
    user_of.update(driver.user_of)
    by_operator, again, reregistered = driver.by_operator, driver.again, driver.reregistered

    # Crash points: each run kills itself (SIGKILL) at one step; the next
    # run picks up from the last acknowledgement.  after_delete comes last:
    # deregistration events are positioned after the backlog polled before.
    crashed = []
    for point in CRASH_POINTS:
        before = progress(db)[0]
        w = start_worker(crash_at=point)
        rc = wait_exit(w, 60 + N * 0.1)
        if rc is None:
            w.kill()
            w.wait()
        after = progress(db)[0]
        if ok(rc == -signal.SIGKILL, f"worker killed at crash point {point} (acknowledged {before} -> {after}),"
              " and restarted", f"exit status {rc}"):
            kills += 1
            crashed.append(point)
    figure(f"crash points: {len(crashed)} runs killed themselves ({', '.join(crashed)})")
    acked, total = progress(db)
    ok(acked < total, f"work was left after the crash points ({acked} of {total} acknowledged)")

    w = start_worker()
    # a second copy for the same consumer waits for the first one
    time.sleep(0.5)
    w2 = start_worker()
    log2 = os.path.join(WORK, f"worker-{worker_runs:02d}.log")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "another worker" not in open(log2, encoding="utf-8").read():
        time.sleep(0.05)
    waiting = "another worker" in open(log2, encoding="utf-8").read()
    w2.send_signal(signal.SIGTERM)
    rc2 = wait_exit(w2, 10)
    ok(waiting and rc2 == 0 and "event " not in open(log2, encoding="utf-8").read(),
       "a second worker for the same consumer waits for the first (and stops on SIGTERM)",
       f"waiting {waiting}, exit status {rc2}")
    caught_up = wait_caught_up(db, w, timeout=90 + N * 0.15)
    acked, total = progress(db)
    ok(caught_up, f"the worker acknowledges every event ({acked} of {total})")

    # The database drops the worker's connection: it connects again (and
    # LISTENs again).
    killed = scalar(db, "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity"
                        " WHERE application_name = 'identity-sync-e2e' AND datname = %s", (DB,))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and scalar(
            db, "SELECT count(*) FROM pg_catalog.pg_stat_activity"
                " WHERE application_name = 'identity-sync-e2e' AND datname = %s", (DB,)) == 0:
        time.sleep(0.05)
    time.sleep(0.2)
    ok(killed == 1 and w.poll() is None and "reconnecting" in worker_logs(),
       "the worker reconnects when its database connection is terminated",
       f"terminated {killed}, running {w.poll() is None}")

    # Idle now, with polls 30 s apart: a new registration must wake it
    # through NOTIFY farmreg_events.
    late = next(i for i in range(N + ROLLED_BACK + 1, N + ROLLED_BACK + 10)
                if not is_rejected(email_of(i), SEED, REJECT))
    db.execute("SET farmreg.password_opslimit = 1")
    db.execute("SET farmreg.password_memlimit = '8kB'")
    r = request_of(late)
    t0 = time.monotonic()
    db.execute("SELECT ok FROM farmreg.register_farm_admin(%s, %s, %s, %s, %s)",
               (r["username"], r["password"], r["name"], r["email"], r["usda_uid"]))
    while time.monotonic() - t0 < 20 and progress(db)[0] < progress(db)[1]:
        time.sleep(0.01)
    latency = time.monotonic() - t0
    ok(latency < 5, f"an idle worker is woken by NOTIFY: a new registration acknowledged in {latency:.2f}s"
       " (polls are 30 s apart)")
    w.send_signal(signal.SIGTERM)
    rc = wait_exit(w, 10)
    ok(rc == 0, "SIGTERM stops the idle worker, with status 0", f"exit status {rc}")
    run_seconds = time.monotonic() - phase

    # ---- the checks --------------------------------------------------------
    state = idp("/_admin/state")
    accounts = state["accounts"]
    users = {r[0]: r for r in db.execute(
        "SELECT id, username, email FROM farmreg.users").fetchall()}
    by_ext = {}
    for a in accounts:
        by_ext.setdefault(a["external_id"], []).append(a)

    dup = {k: len(v) for k, v in by_ext.items() if len(v) > 1}
    missing = [u for u in users if str(u) not in by_ext]
    ok(not missing and not dup, f"every remaining user ({len(users)}) has exactly one account",
       f"missing: {missing[:20]} duplicated: {dup}")
    wrong = [a["external_id"] for a in accounts
             if a["external_id"].isdigit() and int(a["external_id"]) in users
             and (a["email"], a["username"]) != (users[int(a["external_id"])][2], users[int(a["external_id"])][1])]
    ok(not wrong, "each account has its user's username and e-mail", f"wrong: {wrong[:20]}")
    orphans = [a["external_id"] for a in accounts
               if not a["external_id"].isdigit() or int(a["external_id"]) not in users]
    ok(not orphans, f"the provider holds no account without a user ({len(accounts)} accounts)",
       f"orphans: {orphans[:20]}")
    emails = {a["email"].lower() for a in accounts}
    ok(len(emails) == len(accounts), "no e-mail address has two accounts")

    dereg = db.execute(
        "SELECT user_id, payload->>'email', payload->>'reason' FROM farmreg.events"
        " WHERE type = 'farm_admin_deregistered' ORDER BY id").fetchall()
    dereg_by_user = {r[0]: r for r in dereg}
    rej_users = {user_of[i] for i in rejected if i in user_of}
    not_undone = [i for i in rejected if i in user_of and user_of[i] in users]
    ok(not not_undone, f"every rejected registration ({len(rej_users)}) is undone: no user row",
       f"still there: {not_undone[:20]}")
    no_event = [i for i in rejected if i in user_of and (
        user_of[i] not in dereg_by_user or "HTTP 422" not in (dereg_by_user[user_of[i]][2] or ""))]
    ok(not no_event, "every rejected registration has a farm_admin_deregistered event with the provider's reason",
       f"without: {no_event[:20]}")
    rejected_emails = {email_of(i) for i in rejected}
    still = [u for u in users.values() if u[2].lower() in rejected_emails]
    ok(not still, "no user holds a rejected address", f"{still[:10]}")
    op_users = {user_of[i] for i in by_operator}
    spurious = sorted(set(dereg_by_user) - rej_users - op_users)
    ok(not spurious, "nothing else was deregistered (no transient failure undid a registration)",
       f"spurious: {spurious[:20]}")
    twice = len(dereg) - len(dereg_by_user)
    ok(twice == 0, "one deregistration event per deregistered user", f"{twice} extra")
    op_left = [i for i in by_operator if str(user_of[i]) in by_ext]
    ok(not op_left, "the operator's deregistrations deleted their accounts", f"left: {op_left}")
    again_ok = [i for i in again if str(reregistered[i]) in by_ext]
    ok(len(again_ok) == len(again), "the addresses registered again have the new users' accounts",
       f"{again_ok} of {again}")
    ghost_hits = [a for a in accounts if a["email"] in ghosts]
    ok(not ghost_hits, f"no rolled-back registration ({len(ghosts)}) reached the provider")
    ghost_events = scalar(db, "SELECT count(*) FROM farmreg.events WHERE payload->>'email' LIKE 'ghost%%'")
    ok(ghost_events == 0, "rolled-back registrations left no event")

    logs = worker_logs()
    idp_log = open(os.path.join(WORK, "idp.log"), encoding="utf-8").read()
    ok("pw-SECRET" not in logs + idp_log + json.dumps(state),
       "no password in the worker's or the provider's logs or state")
    ok(not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", logs), "no e-mail address in the worker's logs")
    tracebacks = logs.count("Traceback")
    ok(tracebacks == 0, "no traceback in the worker's logs", f"{tracebacks} tracebacks")

    st = state["stats"]
    events_total = scalar(db, "SELECT count(*) FROM farmreg.events")
    retried = len(re.findall(r"transient failure", logs))
    singles = d0.singles + driver.singles
    retries = d0.key_retries + driver.key_retries
    figure(f"registrations: {N} requested - {singles - retries} by single calls (and {retries} retries"
           f" of them with the same idempotency key), {d0.in_batches + driver.in_batches} in"
           f" {d0.batches + driver.batches} batches; {len(ghosts)} rolled back; {len(by_operator)}"
           f" deregistered by the operator, {len(again)} of them registered again")
    figure(f"events: {events_total} ({events_total - len(dereg)} farm_admin_registered,"
           f" {len(dereg)} farm_admin_deregistered)")
    figure(f"provider: {st['requests']} requests, {sum(st['injected'].values())} transient failures injected"
           f" ({', '.join(f'{k} {v}' for k, v in st['injected'].items())}), {st['replayed']} idempotent"
           f" replays, {st['created']} accounts created, {st['deleted']} deleted, {len(accounts)} left")
    figure(f"worker: {retried} transient failures retried, {len(rej_users)} permanent rejections"
           f" (HTTP 422) undone, {worker_runs} runs")
    figure(f"kills: {kills} SIGKILL ({len(crashed)} at crash points, {len(external)} from outside)")
    figure(f"duration of the run: {run_seconds:.1f}s")

    # ---- 4. a full replay, the provider having forgotten every key --------
    phase = time.monotonic()
    before_accounts = {a["external_id"]: a["id"] for a in accounts}
    before_users = sorted(users)
    before_events = events_total
    idp("/_admin/forget-keys", {})
    # timeouts make the replay slow without testing anything new
    idp("/_admin/config", {"transient_modes": ["503", "reset", "drop_after"]})
    db.execute("UPDATE farmreg.event_consumers SET acked_pos = 0 WHERE consumer = %s", (CONSUMER,))
    w = start_worker()
    caught_up = wait_caught_up(db, w, timeout=60 + N * 0.1)
    w.send_signal(signal.SIGTERM)
    rc = wait_exit(w, 10)
    ok(caught_up and rc == 0, "a full replay (consumer reset, idempotency keys forgotten) goes through",
       f"caught up {caught_up}, exit status {rc}")
    after = idp("/_admin/state")
    after_accounts = {a["external_id"]: a["id"] for a in after["accounts"]}
    ok(after_accounts == before_accounts,
       f"after the replay the provider holds the same {len(after_accounts)} accounts, same ids",
       f"new: {sorted(set(after_accounts) - set(before_accounts))[:10]}"
       f" gone: {sorted(set(before_accounts) - set(after_accounts))[:10]}")
    after_users = sorted(r[0] for r in db.execute("SELECT id FROM farmreg.users").fetchall())
    after_events = scalar(db, "SELECT count(*) FROM farmreg.events")
    ok(after_users == before_users and after_events == before_events,
       "the replay undid no registration and appended no event",
       f"users {len(before_users)} -> {len(after_users)}, events {before_events} -> {after_events}")
    figure(f"replay: {events_total} events again in {time.monotonic() - phase:.1f}s,"
           f" {after['stats']['conflicts'] - st['conflicts']} conflicts resolved by external id")

    db.close()
    figure(f"duration in all: {time.monotonic() - t_start:.1f}s")
    for f in figures:
        note(f)


if __name__ == "__main__":
    rc = 0
    try:
        main()
    except SystemExit as e:
        print(f"not ok - interrupted (signal {e.code - 128 if isinstance(e.code, int) else e.code})", flush=True)
        rc = 1
    except Exception as e:  # noqa: BLE001 - one failure line, then the details
        import traceback
        print(f"not ok - the end-to-end run broke: {type(e).__name__}: {e}", flush=True)
        for line in traceback.format_exc().splitlines():
            print(f"#   {line}", flush=True)
        rc = 1
    finally:
        stop_all()
        if os.environ.get("E2E_KEEP") != "1":
            try:
                drop_database()
            except Exception as e:  # noqa: BLE001
                print(f"# could not drop {DB}: {e}", flush=True)
    if failures:
        rc = 1
    sys.exit(rc)
