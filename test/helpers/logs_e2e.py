#!/usr/bin/python3
"""The server log under every logging setting: no password, no password hash.

Run by test/suites/logs.sh, which starts a private cluster logging
everything (log_statement = 'all', log_min_duration_statement = 0,
log_min_error_statement = debug5, log_lock_waits, a low deadlock_timeout,
log_parameter_max_length(_on_error) = -1, auto_explain logging every plan
with log_analyze, log_verbose and log_nested_statements) and two databases:
logs_pre, where session_preload_libraries = 'farmreg, auto_explain', and
logs_nopre, where it is 'auto_explain' only.

  logs_e2e.py provoke MODE DB LEDGER   every case below in DB; what was sent
                                       and what came back go to LEDGER (JSON)
  logs_e2e.py check LOG LEDGER...      after the server stopped: the checks,
                                       as TAP-style ok / not ok lines and
                                       '# ...' figures

Cases, for each password-bearing function (register_farm_admin,
register_farm_admins, verify_password), with the password as a literal
(simple protocol), as a bind parameter (extended protocol) and, where it
means something, through PREPARE / EXECUTE:

  success        calls that return, with log_statement = 'all' and, in a
                 session of their own, with log_statement = 'none' (so that
                 the duration logs quote the statement)
  timeout        statement_timeout (100 ms) during a slow hash
  cancel         pg_cancel_backend during a loop of slow calls
  terminate      pg_terminate_backend during a loop of slow calls
  first_call     the first farmreg call of a new session, statement_timeout
                 = 1 ms (only session_preload_libraries covers it)
  deadlock_self  a deadlock with another session, reported by the farmreg
                 session
  deadlock_other the same, reported by the other session (which loaded
                 farmreg)
  deadlock_cold  the same, reported by another session that never loaded
                 farmreg (only session_preload_libraries covers it)
  lock_wait      a call waiting for a lock past deadlock_timeout
  json           malformed batches: truncated, a bad token, a raw control
                 character, a bad escape, trailing garbage, the wrong shape
  row_dump       a step failing with "Failing row contains": the operator's
                 CHECK (length(name) <= 50) on farmreg.users
  syntax         a statement that does not parse

Passwords of the cases only session_preload_libraries covers carry markers
that are not in test/log_forbidden.txt (FIRSTCALL-, COLDDEADLOCK-); every
other password carries pw-SECRET.  Controls (statements that are not farmreg
calls, with markers) prove the log records what it was meant to.
"""

import json
import os
import re
import sys
import threading
import time

import psycopg

SLOW_OPS = os.environ.get("LOGS_SLOW_OPSLIMIT", "3")
SLOW_MEM = os.environ.get("LOGS_SLOW_MEMLIMIT", "128MB")
REPEAT = int(os.environ.get("LOGS_REPEAT", "2"))            # calls per success/timeout group
LOOP_HITS = int(os.environ.get("LOGS_LOOP_HITS", "5"))      # cancels per loop
TERMINATIONS = int(os.environ.get("LOGS_TERMINATIONS", "3"))
FIRST_CALLS = int(os.environ.get("LOGS_FIRST_CALLS", "5"))
WAIT = 30.0                                                 # seconds any wait may take

FUNCTIONS = ["register_farm_admin", "register_farm_admins", "verify_password"]
REDACTED = "[redacted by farmreg]"


def lit(s):
    return "'" + s.replace("'", "''") + "'"


class Ledger:
    """What a mode sent and what came back."""

    def __init__(self, mode, db):
        self.mode = mode
        self.db = db
        self.cases = []          # {kind, fn, style, markers, outcome, covered_by}
        self.controls = []       # strings that must be in the log
        self.hashes = []
        self.lock_wait_pids = []
        self.n = 0

    def next_id(self):
        self.n += 1
        return self.n

    def password(self, kind, covered_by="filter"):
        prefix = {"filter": "pw-SECRET-logs", "first_call": "FIRSTCALL",
                  "cold_deadlock": "COLDDEADLOCK"}[covered_by]
        return "%s-%s-%s-%d" % (prefix, self.mode, kind, self.next_id())

    def add(self, kind, fn, style, markers, outcome, covered_by="filter"):
        self.cases.append({"kind": kind, "fn": fn, "style": style, "markers": markers,
                           "outcome": outcome, "covered_by": covered_by})

    def dump(self, path):
        with open(path, "w") as f:
            json.dump({"mode": self.mode, "db": self.db, "cases": self.cases,
                       "controls": self.controls, "hashes": self.hashes,
                       "lock_wait_pids": self.lock_wait_pids}, f, indent=1)


# ---------------------------------------------------------------------------
# Sessions and calls
# ---------------------------------------------------------------------------

class Session:
    def __init__(self, db, app, load=True, options=None):
        self.conn = psycopg.connect(dbname=db, application_name=app, autocommit=True,
                                    options=options or "")
        self.pid = self.conn.info.backend_pid
        self.prepared = set()
        if load:
            # the first farmreg call loads the library (and its log filter)
            self.conn.execute("SELECT farmreg.error_message('name_blank')")

    def execute(self, sql, params=None):
        if params is None:
            return self.conn.execute(sql)      # simple query protocol
        return self.conn.execute(sql, params)  # extended protocol

    def slow(self):
        self.execute("SET farmreg.password_opslimit = %s" % SLOW_OPS)
        self.execute("SET farmreg.password_memlimit = %s" % lit(SLOW_MEM))

    def close(self):
        try:
            self.conn.close()
        except Exception:
            pass


class Requests:
    """Fresh registration data: usernames, emails and USDA records never used."""

    def __init__(self, ledger):
        self.ledger = ledger

    def request(self, password, name="Log Tester"):
        n = self.ledger.next_id()
        return {"username": "lg%d" % n, "password": password, "name": name,
                "email": "lg%d@logs.example" % n, "usda_uid": "L-%d" % n}


RESULT_COLS = {
    "register_farm_admin": "ok, error_code, failed_step",
    "register_farm_admins": "ordinal, ok, error_code, failed_step",
    "verify_password": None,
}

PREPARE = {
    "register_farm_admin": "PREPARE logs_reg (text, text, text, text, text) AS "
                           "SELECT ok, error_code, failed_step FROM farmreg.register_farm_admin($1, $2, $3, $4, $5)",
    "register_farm_admins": "PREPARE logs_batch (jsonb) AS "
                            "SELECT ordinal, ok, error_code, failed_step FROM farmreg.register_farm_admins($1)",
    "verify_password": "PREPARE logs_verify (text, text) AS SELECT farmreg.verify_password($1, $2)",
}
PREPARED_NAME = {"register_farm_admin": "logs_reg", "register_farm_admins": "logs_batch",
                 "verify_password": "logs_verify"}


def call_args(fn, payload):
    """The function's arguments: payload is a request dict, a list of them
    (batch), a raw JSON text (batch), or (login, password)."""
    if fn == "register_farm_admin":
        r = payload
        return [r["username"], r["password"], r["name"], r["email"], r["usda_uid"]]
    if fn == "register_farm_admins":
        return [payload if isinstance(payload, str) else json.dumps(payload)]
    return list(payload)


def call(session, fn, style, payload):
    """One call; returns ('ok', rows) or (sqlstate, message)."""
    args = call_args(fn, payload)
    cols = RESULT_COLS[fn]
    head = "SELECT %s FROM farmreg.%s" % (cols, fn) if cols else "SELECT farmreg.%s" % fn
    try:
        if style == "literal":
            cur = session.execute("%s(%s)" % (head, ", ".join(lit(a) for a in args)))
        elif style == "bind":
            cur = session.execute("%s(%s)" % (head, ", ".join(["%s"] * len(args))), args)
        elif style == "execute":
            if fn not in session.prepared:
                session.execute(PREPARE[fn])
                session.prepared.add(fn)
            cur = session.execute("EXECUTE %s(%s)" % (PREPARED_NAME[fn], ", ".join(lit(a) for a in args)))
        else:
            raise ValueError(style)
        return ("ok", [list(r) for r in cur.fetchall()])
    except psycopg.Error as e:
        return (e.sqlstate or type(e).__name__, str(e).splitlines()[0] if str(e) else "")


def payload_for(fn, req, password):
    if fn == "register_farm_admin":
        return req(password)
    if fn == "register_farm_admins":
        return [req(password), req(password + "-b")]
    # a wrong password for the user whose hash has the slow costs (logs.sh)
    return ("logs_slow_login", password)


def batch_markers(fn, password):
    return [password, password + "-b"] if fn == "register_farm_admins" else [password]


def wait_until(what, predicate, timeout=WAIT, step=0.01):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    print("# timed out waiting until %s" % what)
    return False


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------

def case_success(L, db, req):
    s = Session(db, "logs-%s-success" % L.mode)
    quiet = Session(db, "logs-%s-success-quiet" % L.mode)
    quiet.execute("SET log_statement = 'none'")
    # a known user, for logins that match
    known_pw = L.password("success")
    known = req(known_pw)
    out = call(s, "register_farm_admin", "literal", known)
    L.add("success", "register_farm_admin", "literal", [known_pw],
          "ok" if out[0] == "ok" and out[1][0][0] else str(out))
    for session, tag in ((s, ""), (quiet, "-quiet")):
        for fn in FUNCTIONS:
            for style in ("literal", "bind", "execute"):
                for _ in range(REPEAT if not tag else 1):
                    pw = L.password("success")
                    if fn == "verify_password":
                        payload = (known["username"], pw)
                    else:
                        payload = payload_for(fn, req, pw)
                    out = call(session, fn, style, payload)
                    L.add("success", fn, style + tag, batch_markers(fn, pw), out[0])
    # and the right password, once per style
    for style in ("literal", "bind", "execute"):
        out = call(s, "verify_password", style, (known["username"], known_pw))
        L.add("success", "verify_password", style, [known_pw],
              "ok" if out[0] == "ok" and out[1][0][0] is not None else "no match")
    s.close()
    quiet.close()


def case_timeout(L, db, req):
    s = Session(db, "logs-%s-timeout" % L.mode)
    s.slow()
    for fn in FUNCTIONS:
        for style in ("literal", "bind", "execute"):
            for _ in range(REPEAT):
                pw = L.password("timeout")
                payload = payload_for(fn, req, pw)
                if style == "execute" and fn not in s.prepared:
                    s.execute(PREPARE[fn])
                    s.prepared.add(fn)
                s.execute("SET statement_timeout = '100ms'")
                out = call(s, fn, style, payload)
                s.execute("RESET statement_timeout")
                L.add("timeout", fn, style, batch_markers(fn, pw), out[0])
    s.close()


def running_call(mon, pid, fn):
    row = mon.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row is not None and row[0] == "active" and ("." + fn) in (row[1] or "")


def loop_case(L, db, req, kind, fn, style, hits):
    """A worker calls fn in a loop (slow hashes) while this thread cancels
    or terminates its backend, hits times, each time during a call."""
    state = {"pid": None, "markers": [], "errors": [], "stop": False, "calls": 0}
    lock = threading.Lock()
    ready = threading.Event()

    def worker():
        s = None
        while not state["stop"]:
            if s is None:
                try:
                    s = Session(db, "logs-%s-%s" % (L.mode, kind))
                    s.slow()
                except psycopg.Error as e:
                    with lock:
                        state["errors"].append(e.sqlstate or "connect")
                    s = None
                    time.sleep(0.05)
                    continue
                with lock:
                    state["pid"] = s.pid
                ready.set()
            pw = L.password(kind)
            with lock:
                state["markers"].extend(batch_markers(fn, pw))
            out = call(s, fn, style, payload_for(fn, req, pw))
            with lock:
                state["calls"] += 1
                if out[0] != "ok":
                    state["errors"].append(out[0])
            if out[0] != "ok" and (s.conn.closed or s.conn.broken):
                s.close()
                s = None
            elif out[0] != "ok" and kind == "terminate":
                # the terminated connection may not know yet
                try:
                    s.execute("SELECT 1")
                except psycopg.Error:
                    s.close()
                    s = None
        if s is not None:
            s.close()

    mon = Session(db, "logs-%s-monitor" % L.mode)
    t = threading.Thread(target=worker)
    t.start()
    landed = 0
    ready.wait(WAIT)
    for _ in range(hits):
        with lock:
            before = len(state["errors"])
        if not wait_until("a %s call is running" % fn,
                          lambda: state["pid"] is not None and running_call(mon, state["pid"], fn)):
            break
        with lock:
            pid = state["pid"]
        if kind == "cancel":
            mon.execute("SELECT pg_cancel_backend(%s)", [pid])
        else:
            mon.execute("SELECT pg_terminate_backend(%s)", [pid])
        if wait_until("the %s landed" % kind, lambda: len(state["errors"]) > before):
            landed += 1
        if kind == "terminate":
            wait_until("a new session", lambda: state["pid"] != pid)
    state["stop"] = True
    t.join(WAIT * 2)
    mon.close()
    return state, landed


def case_loops(L, db, req):
    for kind, hits in (("cancel", LOOP_HITS), ("terminate", TERMINATIONS)):
        for fn in FUNCTIONS:
            for style in ("literal", "bind"):
                state, landed = loop_case(L, db, req, kind, fn, style, hits)
                L.add(kind, fn, style, state["markers"],
                      "%d of %d %ss landed in %d calls (%s)" %
                      (landed, hits, kind, state["calls"], ",".join(sorted(set(state["errors"])))))
                L.cases[-1]["hits"] = hits
                L.cases[-1]["landed"] = landed


def case_first_call(L, db, req):
    for fn in FUNCTIONS:
        for style in ("literal", "bind", "execute"):
            for _ in range(FIRST_CALLS):
                pw = L.password("first_call", covered_by="first_call")
                payload = payload_for(fn, req, pw)
                try:
                    if style == "execute":
                        s = Session(db, "logs-%s-first" % L.mode, load=False)
                        s.execute(PREPARE[fn])
                        s.prepared.add(fn)
                        s.execute("SET statement_timeout = '1ms'")
                    else:
                        s = Session(db, "logs-%s-first" % L.mode, load=False,
                                    options="-c statement_timeout=1")
                except psycopg.Error as e:
                    L.add("first_call", fn, style, batch_markers(fn, pw), e.sqlstate or "connect",
                          covered_by="first_call")
                    continue
                out = call(s, fn, style, payload)
                s.close()
                L.add("first_call", fn, style, batch_markers(fn, pw), out[0], covered_by="first_call")


def claim_username(username):
    """A plain INSERT holding username (uncommitted): a registration of the
    same username waits for it.  The placeholder passes the table's CHECK
    without spelling an argon2id string into the log."""
    return ("INSERT INTO farmreg.users (username, email, name, password_hash) "
            "VALUES (%s, %s, 'Holder', '$argon2' || 'id$placeholder')"
            % (lit(username), lit(username + "@hold.example")))


def blocked_by(mon, pid, other):
    return mon.execute("SELECT %s = ANY (pg_blocking_pids(%s))", [other, pid]).fetchone()[0]


def hold_for(session, fn, req, username, pw):
    """In session's open transaction, take what a call of fn by username
    will wait on (the users table for a login, the username's claim for a
    registration); return that call's arguments."""
    if fn == "verify_password":
        session.execute("LOCK TABLE farmreg.users IN ACCESS EXCLUSIVE MODE")
        return (username, pw)
    session.execute(claim_username(username))
    r = req(pw)
    r["username"] = username
    return r if fn == "register_farm_admin" else [r]


def deadlock_case(L, db, req, kind, fn, style):
    """Session B calls fn inside a transaction holding a row lock, and waits
    for session A, which then asks for B's row."""
    n = L.next_id()
    covered = "cold_deadlock" if kind == "deadlock_cold" else "filter"
    pw = L.password(kind, covered_by=covered)
    mon = Session(db, "logs-%s-monitor" % L.mode)
    a = Session(db, "logs-%s-%s-a" % (L.mode, kind), load=(kind != "deadlock_cold"))
    b = Session(db, "logs-%s-%s-b" % (L.mode, kind))
    detector_a = kind != "deadlock_self"
    a.execute("SET deadlock_timeout = %s" % ("'200ms'" if detector_a else "'60s'"))
    b.execute("SET deadlock_timeout = %s" % ("'60s'" if detector_a else "'200ms'"))
    control = "DLCONTROL-%s-%d" % (L.mode, n)
    if detector_a:
        L.controls.append(control)
    a.execute("BEGIN")
    payload = hold_for(a, fn, req, "dl%d" % n, pw)
    b.execute("BEGIN")
    b.execute("SELECT 1 FROM public.logs_lockrow WHERE id = %d FOR UPDATE" % n)
    results = {}

    def run_b():
        results["b"] = call(b, fn, style, payload)
        b.execute("ROLLBACK")

    def run_a():
        try:
            a.execute("SELECT 1 FROM public.logs_lockrow WHERE id = %d FOR UPDATE /* %s */" % (n, control))
            results["a"] = "ok"
        except psycopg.Error as e:
            results["a"] = e.sqlstate
        a.execute("ROLLBACK")

    tb = threading.Thread(target=run_b)
    tb.start()
    wait_until("session B waits for session A", lambda: blocked_by(mon, b.pid, a.pid))
    ta = threading.Thread(target=run_a)
    ta.start()
    ta.join(WAIT)
    tb.join(WAIT)
    got = "a:%s b:%s" % (results.get("a"), results.get("b", ("none",))[0])
    L.add(kind, fn, style, [pw], got, covered_by=covered)
    L.cases[-1]["deadlock"] = "40P01" in got
    for s in (a, b, mon):
        s.close()


def case_deadlocks(L, db, req):
    for kind in ("deadlock_self", "deadlock_other", "deadlock_cold"):
        for fn in FUNCTIONS:
            for style in ("literal", "bind"):
                deadlock_case(L, db, req, kind, fn, style)


def case_lock_waits(L, db, req, log_path):
    for fn in FUNCTIONS:
        for style in ("literal", "bind"):
            n = L.next_id()
            pw = L.password("lock_wait")
            a = Session(db, "logs-%s-lockwait-a" % L.mode)
            b = Session(db, "logs-%s-lockwait-b" % L.mode)
            b.execute("SET deadlock_timeout = '100ms'")
            a.execute("BEGIN")
            payload = hold_for(a, fn, req, "lw%d" % n, pw)
            results = {}

            def run_b():
                results["b"] = call(b, fn, style, payload)

            tb = threading.Thread(target=run_b)
            tb.start()
            needle = "process %d still waiting for" % b.pid
            seen = wait_until("the lock wait of %d is logged" % b.pid,
                              lambda: needle in open(log_path, errors="replace").read(), step=0.05)
            a.execute("ROLLBACK")
            tb.join(WAIT)
            L.add("lock_wait", fn, style, [pw], "%s, logged: %s" % (results.get("b", ("none",))[0], seen))
            L.cases[-1]["logged"] = seen
            L.lock_wait_pids.append(b.pid)
            a.close()
            b.close()


def case_json(L, db, req):
    s = Session(db, "logs-%s-json" % L.mode)
    for style in ("literal", "bind"):
        for shape in ("truncated", "token", "control", "escape", "trailing", "shape"):
            # no dashes: the JSON scanner quotes a bad token up to the first
            # '-'; the password last, as the parser's context shows the 50
            # characters before the error
            pw = L.password("json").replace("-", "")
            r = req(pw)
            text = {
                "truncated": '[{"username": "%s", "password": "%s' % (r["username"], pw),
                "token": '[{"username": "%s", "password": %s}]' % (r["username"], pw),
                "control": '[{"username": "%s", "password": "%s\n%s"}]' % (r["username"], pw, pw),
                "escape": '[{"username": "%s", "password": "%s\\q%s"}]' % (r["username"], pw, pw),
                "trailing": '[{"username": "%s", "password": "x%s"}] %s' % (r["username"], pw, pw),
                "shape": json.dumps(r),
            }[shape]
            out = call(s, "register_farm_admins", style, text)
            L.add("json", "register_farm_admins", style + "-" + shape, [pw], out[0])
    s.close()


def case_row_dump(L, db, req):
    s = Session(db, "logs-%s-rowdump" % L.mode)
    long_name = "Name " * 12                        # 60 characters
    for fn in ("register_farm_admin", "register_farm_admins"):
        for style in ("literal", "bind"):
            for _ in range(REPEAT):
                pw = L.password("row_dump")
                if fn == "register_farm_admin":
                    payload = req(pw, name=long_name)
                    markers = [pw]
                else:
                    payload = [req(pw + "-ok"), req(pw, name=long_name)]
                    markers = [pw, pw + "-ok"]
                out = call(s, fn, style, payload)
                codes = [row[-2] for row in out[1]] if out[0] == "ok" else [out[0]]
                L.add("row_dump", fn, style, markers, ",".join(str(c) for c in codes))
    s.close()


def case_syntax(L, db, req):
    s = Session(db, "logs-%s-syntax" % L.mode)
    for fn in FUNCTIONS:
        for variant in ("unterminated", "adjacent"):
            pw = L.password("syntax")
            if variant == "unterminated":
                sql = {"register_farm_admin": "SELECT * FROM farmreg.register_farm_admin('lgsyntax', '%s",
                       "register_farm_admins": "SELECT * FROM farmreg.register_farm_admins('[{\"password\": \"%s\"}]",
                       "verify_password": "SELECT farmreg.verify_password('lgsyntax', '%s"}[fn] % pw
            else:
                sql = {"register_farm_admin": "SELECT * FROM farmreg.register_farm_admin('lgsyntax' '%s', 'x', 'y', 'z')",
                       "register_farm_admins": "SELECT * FROM farmreg.register_farm_admins('[]' '%s')",
                       "verify_password": "SELECT farmreg.verify_password('lgsyntax' '%s')"}[fn] % pw
            try:
                s.execute(sql)
                out = "ok"
            except psycopg.Error as e:
                out = e.sqlstate
            L.add("syntax", fn, "literal-" + variant, [pw], out)
    s.close()


def controls(L, db):
    """Statements that are not farmreg calls: the log must show their text."""
    m = L.mode
    s = Session(db, "logs-%s-control" % m)
    quiet = Session(db, "logs-%s-control-quiet" % m)
    quiet.execute("SET log_statement = 'none'")
    c = lambda what: "CONTROL-%s-%s" % (m, what)    # noqa: E731
    s.execute("SELECT %s AS control" % lit(c("statement")))
    L.controls += ["statement: SELECT '%s' AS control" % c("statement"),
                   "Query Text: SELECT '%s' AS control" % c("statement")]
    quiet.execute("SELECT %s AS control" % lit(c("duration")))
    L.controls.append("statement: SELECT '%s' AS control" % c("duration"))
    s.execute("SELECT %s::text AS control", [c("param")])
    L.controls.append("parameters: $1 = '%s'" % c("param"))
    for sql, needle in (
            ("SELECT %s::int" % lit(c("error")), "STATEMENT:  SELECT '%s'::int" % c("error")),
            ("SELECT '[{\"a\": CONTROL%sjson}]'::jsonb" % m, 'Token "CONTROL%sjson" is invalid.' % m),
            ("INSERT INTO public.logs_control VALUES (%s)" % lit(c("row")), "Failing row contains (%s)." % c("row"))):
        try:
            s.execute(sql)
        except psycopg.Error:
            pass
        L.controls.append(needle)
    try:
        s.execute("SELECT %s::int AS control", [c("portal")])
    except psycopg.Error:
        pass
    L.controls.append("unnamed portal parameter $1 = '%s'" % c("portal"))
    s.close()
    quiet.close()


def provoke(mode, db, ledger_path, log_path):
    L = Ledger(mode, db)
    req = Requests(L).request
    t0 = time.monotonic()
    controls(L, db)
    case_success(L, db, req)
    case_timeout(L, db, req)
    case_loops(L, db, req)
    case_first_call(L, db, req)
    case_deadlocks(L, db, req)
    case_lock_waits(L, db, req, log_path)
    case_json(L, db, req)
    case_row_dump(L, db, req)
    case_syntax(L, db, req)
    s = Session(db, "logs-%s-hashes" % mode)
    L.hashes = [r[0] for r in s.execute("SELECT password_hash FROM farmreg.users "
                                        "WHERE password_hash LIKE '$argon2id$%'").fetchall()]
    s.close()
    L.dump(ledger_path)
    print("# %s: %d cases provoked in %.0f s" % (mode, sum(c.get("hits", 1) for c in L.cases),
                                                 time.monotonic() - t0))


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------

RESULTS = {"fail": 0}


def ok(cond, desc):
    print("%s - %s" % ("ok" if cond else "not ok", desc))
    if not cond:
        RESULTS["fail"] += 1
    return cond


def hits_in(log, marker):
    return log.count(marker)


def show_lines(log, marker, n=3):
    shown = 0
    for line in log.splitlines():
        if marker in line:
            print("#   " + line[:300])
            shown += 1
            if shown == n:
                break


KIND_TEXT = {
    "success": "successful calls",
    "timeout": "statement timeouts during a slow hash",
    "cancel": "pg_cancel_backend during a loop of calls",
    "terminate": "pg_terminate_backend during a loop of calls",
    "first_call": "first calls of a session, statement_timeout = 1 ms",
    "deadlock_self": "deadlocks reported by the farmreg session",
    "deadlock_other": "deadlocks reported by the other session (farmreg loaded there)",
    "deadlock_cold": "deadlocks reported by another session that never loaded farmreg",
    "lock_wait": "lock waits past deadlock_timeout",
    "json": "malformed batches (JSON errors)",
    "row_dump": "steps failing with a row dump",
    "syntax": "statements that do not parse",
}


def check(log_path, ledger_paths):
    with open(log_path, errors="replace") as f:
        log = f.read()
    ledgers = []
    for p in ledger_paths:
        with open(p) as f:
            ledgers.append(json.load(f))
    total_cases = 0
    total_leaks = 0
    figures = {}

    for led in ledgers:
        mode = led["mode"]
        preloaded = mode == "pre"
        by_kind = {}
        for c in led["cases"]:
            by_kind.setdefault(c["kind"], []).append(c)
        for kind, cases in by_kind.items():
            leaked = [c for c in cases if any(hits_in(log, m) for m in c["markers"])]
            # a loop is as many cases as the cancels or terminations it took
            total_cases += sum(c.get("hits", 1) for c in cases)
            only_preload = cases[0]["covered_by"] != "filter"
            if only_preload and not preloaded:
                figures[kind] = (len(leaked), len(cases),
                                 {s: (sum(1 for c in leaked if c["style"] == s),
                                      sum(1 for c in cases if c["style"] == s))
                                  for s in sorted(set(c["style"] for c in cases))})
                ok(True, "%s: %s (%d cases): %d leaked (a figure: only session_preload_libraries covers these)"
                   % (mode, KIND_TEXT[kind], len(cases), len(leaked)))
                continue
            total_leaks += len(leaked)
            if not ok(not leaked, "%s: %s (%d cases): no password in the server log"
                      % (mode, KIND_TEXT[kind], len(cases))):
                for c in leaked[:3]:
                    print("# leaked: %s %s %s" % (c["kind"], c["fn"], c["style"]))
                    for m in c["markers"]:
                        show_lines(log, m)

        # the cases did what they were meant to
        def outcomes(kind):
            return [c["outcome"] for c in by_kind.get(kind, [])]
        fc = outcomes("first_call")
        ok(fc and "57014" in fc,
           "%s: first calls with statement_timeout = 1 ms were cancelled by it (%d of %d; others finished first)"
           % (mode, sum(o == "57014" for o in fc), len(fc)))
        t = outcomes("timeout")
        ok(t and all(o == "57014" for o in t),
           "%s: every timeout case was cancelled by statement_timeout (%d of %d got 57014)"
           % (mode, sum(o == "57014" for o in t), len(t)))
        for kind in ("cancel", "terminate"):
            cs = by_kind.get(kind, [])
            hits = sum(c["hits"] for c in cs)
            landed = sum(c["landed"] for c in cs)
            ok(cs and all(c["landed"] > 0 for c in cs),
               "%s: pg_%s_backend landed during calls in every loop (%d of %d)"
               % (mode, "cancel" if kind == "cancel" else "terminate", landed, hits))
        for kind in ("deadlock_self", "deadlock_other", "deadlock_cold"):
            cs = by_kind.get(kind, [])
            ok(cs and all(c["deadlock"] for c in cs),
               "%s: %s: a deadlock was detected in each (%d of %d)"
               % (mode, KIND_TEXT[kind], sum(c["deadlock"] for c in cs), len(cs)))
        lw = by_kind.get("lock_wait", [])
        ok(lw and all(c["logged"] for c in lw),
           "%s: each lock wait was logged by the waiting farmreg session (%d of %d)"
           % (mode, sum(c["logged"] for c in lw), len(lw)))
        js = outcomes("json")
        ok(js and all(o in ("22P02", "22023") for o in js),
           "%s: every malformed batch was refused (22P02 / 22023: %d of %d)"
           % (mode, sum(o in ("22P02", "22023") for o in js), len(js)))
        rd = outcomes("row_dump")
        ok(rd and all("internal_error" in o for o in rd),
           "%s: every long name failed its step with internal_error (%d of %d)"
           % (mode, sum("internal_error" in o for o in rd), len(rd)))
        sx = outcomes("syntax")
        ok(sx and all(o == "42601" for o in sx),
           "%s: every unparsable statement was refused with 42601 (%d of %d)"
           % (mode, sum(o == "42601" for o in sx), len(sx)))
        sc = [c for c in by_kind.get("success", [])]
        ok(sc and all(c["outcome"] == "ok" for c in sc),
           "%s: every successful call returned (%d of %d)"
           % (mode, sum(c["outcome"] == "ok" for c in sc), len(sc)))

        # no stored hash: its salt, nor any argon2id string
        salts = [h.split("$")[4] for h in led["hashes"] if h.count("$") >= 5]
        leaked_salts = [s for s in salts if s in log]
        total_leaks += len(leaked_salts)
        if not ok(salts and not leaked_salts,
                  "%s: the salt of none of the %d stored hashes is in the server log" % (mode, len(salts))):
            for s in leaked_salts[:3]:
                show_lines(log, s)

        # the controls: the log records what it was meant to
        missing = [c for c in led["controls"] if c not in log]
        if not ok(led["controls"] and not missing,
                  "%s: the %d control strings (statements that are not farmreg calls, verbatim) are in the log"
                  % (mode, len(led["controls"]))):
            for c in missing[:5]:
                print("#   missing: %s" % c)
        lwp = [p for p in led["lock_wait_pids"] if re.search(r"process %d still waiting" % p, log)]
        ok(len(lwp) == len(led["lock_wait_pids"]) and lwp,
           "%s: the log holds the lock waits of the farmreg sessions (%d), their statements hidden"
           % (mode, len(lwp)))

    # any argon2id hash at all, stored or not (a failed step's row holds one)
    argon = re.findall(r"\$argon2id\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]{8,}", log)
    ok(not argon, "no argon2id hash anywhere in the server log (%d found)" % len(argon))
    for h in argon[:3]:
        show_lines(log, h)

    # the filter said what it did, in every form
    forms = [
        ("log_statement", r"LOG:  statement: \[redacted by farmreg\]"),
        ("duration with the statement", r"LOG:  duration: [0-9.]+ ms  statement: \[redacted by farmreg\]"),
        ("extended protocol: parse", r"LOG:  duration: [0-9.]+ ms  parse <unnamed>: \[redacted by farmreg\]"),
        ("extended protocol: bind", r"LOG:  duration: [0-9.]+ ms  bind <unnamed>: \[redacted by farmreg\]"),
        ("extended protocol: execute", r"LOG:  execute <unnamed>: \[redacted by farmreg\]"),
        ("duration of an execute", r"LOG:  duration: [0-9.]+ ms  execute <unnamed>: \[redacted by farmreg\]"),
        ("bind parameters", r"DETAIL:  parameters: \[redacted by farmreg\]"),
        ("EXECUTE's prepared statement", r"DETAIL:  prepare: \[redacted by farmreg\]"),
        ("auto_explain's plan", r"LOG:  duration: [0-9.]+ ms  plan:\n\s*\[redacted by farmreg\]"),
        ("row dump", r"DETAIL:  Failing row contains \[redacted by farmreg\]\."),
        ("JSON data", r"CONTEXT:  JSON data, line 1: \[redacted by farmreg\]"),
        ("JSON token", r"DETAIL:  Token \"\[redacted by farmreg\]\" is invalid\."),
        ("parameters of a failed execute", r"unnamed portal with parameters: \[redacted by farmreg\]"),
        ("a bind parameter that failed", r"unnamed portal parameter \$1 = \[redacted by farmreg\]"),
        ("another session's query in a deadlock report", r"Process [0-9]+: \[redacted by farmreg\]"),
        ("a syntax error's token", r"at or near \"\[redacted by farmreg\]\""),
    ]
    missing = [name for name, rx in forms if not re.search(rx, log)]
    ok(not missing, "the log says what was redacted, in all %d forms (%s)"
       % (len(forms), "missing: " + ", ".join(missing) if missing else "statement, duration, parse, bind, "
          "execute, parameters, prepare, plan, row, JSON data and token, portal parameters, "
          "deadlock query, syntax token"))

    # figures
    print("# provoking cases: %d, half with session_preload_libraries = 'farmreg' and half without; "
          "leaks found where the filter applies: %d" % (total_cases, total_leaks))
    pre = next((l for l in ledgers if l["mode"] == "pre"), None)
    for kind, what in (("first_call", "first-call timeouts"),
                       ("deadlock_cold", "deadlock reports by a session that never loaded farmreg")):
        if kind in figures:
            n, m, by_style = figures[kind]
            m_pre = sum(1 for c in pre["cases"] if c["kind"] == kind) if pre else 0
            n_pre = sum(1 for c in pre["cases"] if c["kind"] == kind
                        and any(hits_in(log, x) for x in c["markers"])) if pre else 0
            print("# without session_preload_libraries: %d of %d %s leaked (%s); with it: %d of %d"
                  % (n, m, what, ", ".join("%s %d of %d" % (s, a, b) for s, (a, b) in by_style.items()),
                     n_pre, m_pre))
    return 0


def main():
    if len(sys.argv) >= 6 and sys.argv[1] == "provoke":
        provoke(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3:])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
