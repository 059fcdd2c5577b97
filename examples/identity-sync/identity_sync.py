#!/usr/bin/python3
"""farmreg identity sync worker: keeps an identity provider in step with
farmreg's outbox.

It follows the events of one consumer (farmreg.poll_events / ack_events):

  farm_admin_registered    create the account in the provider
                           (POST /v1/accounts, Idempotency-Key = the event id);
                           a permanent rejection (by default 400, 409, 422)
                           undoes the registration with
                           farmreg.deregister_farm_admin(user_id, reason), in the
                           same transaction as the acknowledgement
  farm_admin_deregistered  delete the account if it is there
                           (DELETE /v1/accounts/by-external-id/USER_ID; 404 is
                           fine: nothing to delete)
  any other type           acknowledged and otherwise ignored

Delivery is at least once: an event is acknowledged only after its effect is
done, so a crash anywhere repeats at most the event in hand, and every effect
is idempotent - the provider dedupes creations by idempotency key (and, should
it have forgotten the key, the worker finds the account by its external id),
deletion of an absent account is a no-op, and deregistering a user who is gone
returns false.  See README.md for every crash point.

Transient failures (5xx, 408, 425, 429, timeouts, refused or dropped
connections) are retried with capped exponential backoff and jitter, for ever
by default (--max-attempts): the events of one consumer are in order, and
skipping one would break that.  Responses that say the worker itself is
misconfigured (401, 403, 404 on create, ...) are never taken as the user's
fault: they are retried too, logged as errors.

Connects with the standard libpq environment variables (PGHOST, PGPORT,
PGDATABASE, PGUSER, PGPASSWORD / ~/.pgpass, PGSSLMODE, ...) or --dsn.  The
role needs EXECUTE on farmreg.poll_events, farmreg.ack_events and
farmreg.deregister_farm_admin, nothing else.  LISTENs on farmreg_events and
polls when notified, or every --poll-interval seconds anyway.  SIGTERM or
SIGINT: finish the step in hand, acknowledge it if it is done, and exit 0.

Needs Python 3.9+ and psycopg 3 (Debian: python3-psycopg, run with
/usr/bin/python3).
"""

import argparse
import http.client
import json
import logging
import os
import random
import select
import signal
import sys
import time
from urllib.parse import quote, urlsplit

import psycopg

log = logging.getLogger("identity-sync")

CHANNEL = "farmreg_events"
EX_TEMPFAIL = 75        # gave up on an event after --max-attempts
EX_CONFIG = 78          # bad configuration

TRANSIENT_STATUSES = frozenset({408, 425, 429})


class Stopping(Exception):
    """SIGTERM / SIGINT arrived while waiting: leave without acknowledging."""


class GiveUp(Exception):
    """--max-attempts reached for the event in hand."""


# ---------------------------------------------------------------------------
# Fault injection, for tests: IDENTITY_SYNC_CRASH_AT="point[:n],..." makes the
# worker SIGKILL itself the n-th time (default 1st) it passes a point.
# ---------------------------------------------------------------------------

CRASH_POINTS = (
    "after_poll",           # events polled, nothing done yet
    "after_create",         # the provider created the account (2xx); not acknowledged
    "after_reject",         # the provider rejected the account (4xx); nothing done in farmreg yet
    "in_reject_txn",        # deregistered and acknowledged, transaction not committed
    "after_delete",         # the provider deleted the account (or had none); not acknowledged
    "after_ack",            # acknowledged
)


class CrashPoints:
    def __init__(self, spec):
        self.left = {}
        for item in filter(None, (s.strip() for s in (spec or "").split(","))):
            name, _, count = item.partition(":")
            if name not in CRASH_POINTS:
                raise ValueError(f"unknown crash point {name!r} (known: {', '.join(CRASH_POINTS)})")
            self.left[name] = int(count or 1)

    def reached(self, name):
        if name in self.left:
            self.left[name] -= 1
            if self.left[name] == 0:
                log.warning("crash point %s reached: killing myself (SIGKILL)", name)
                logging.shutdown()
                os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------
# The identity provider
# ---------------------------------------------------------------------------

class Outcome:
    """A definitive answer from the provider (2xx or 4xx)."""

    def __init__(self, status, body):
        self.status = status
        self.body = body

    def error_code(self):
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), str):
            return self.body["error"][:100]
        return None


class IdentityProvider:
    def __init__(self, args, stop):
        url = urlsplit(args.idp_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"--idp-url must be an http(s) URL, not {args.idp_url!r}")
        self.scheme = url.scheme
        self.host = url.hostname
        self.port = url.port
        self.base = url.path.rstrip("/")
        self.token = args.idp_token
        self.timeout = args.http_timeout
        self.key_prefix = args.key_prefix
        self.reject_statuses = args.reject_statuses
        self.backoff_initial = args.backoff_initial
        self.backoff_max = args.backoff_max
        self.max_attempts = args.max_attempts
        self.stop = stop
        self.retries = 0            # transient failures retried, for the last log line

    def _request(self, method, path, body, key):
        """One HTTP exchange: (status, parsed body or None, headers).
        Network trouble raises OSError / http.client.HTTPException."""
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        headers = {"Accept": "application/json", "User-Agent": "farmreg-identity-sync/1.1"}
        data = None
        if body is not None:
            # sorted keys: a replay must be byte-identical, or a provider that
            # fingerprints requests would call it a different one
            data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            conn.request(method, self.base + path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return resp.status, parsed, resp.headers
        finally:
            conn.close()

    def call(self, what, method, path, body=None, key=None, ok_statuses=()):
        """Retry until the provider gives a definitive answer: a 2xx, a status
        in ok_statuses, or a permanent rejection.  Everything else waits and
        tries again."""
        attempt = 0
        while True:
            attempt += 1
            retry_after = None
            try:
                status, parsed, headers = self._request(method, path, body, key)
            except (OSError, http.client.HTTPException) as e:
                # refused, reset, dropped without a response, timed out
                problem = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                level = logging.WARNING
            else:
                if 200 <= status < 300 or status in ok_statuses or status in self.reject_statuses:
                    return Outcome(status, parsed)
                code = parsed.get("error") if isinstance(parsed, dict) else None
                problem = f"HTTP {status}" + (f" {code[:100]}" if isinstance(code, str) else "")
                if status >= 500 or status in TRANSIENT_STATUSES:
                    level = logging.WARNING
                    ra = headers.get("Retry-After")
                    if ra and ra.strip().isdigit():
                        retry_after = float(ra)
                else:
                    # 401, 403, an unexpected 404 ...: our configuration, not
                    # the user; never a reason to undo a registration
                    level = logging.ERROR
                    problem = (f"request refused ({problem}): a problem of this worker or"
                               " the provider, not of the user")
            if level == logging.WARNING:
                problem = f"transient failure ({problem})"
            if self.max_attempts and attempt >= self.max_attempts:
                log.error("%s: %s; giving up after %d attempts", what, problem, attempt)
                raise GiveUp(what)
            delay = self.backoff(attempt, retry_after)
            if level == logging.WARNING:
                self.retries += 1
            log.log(level, "%s: %s; retry %d in %.2fs", what, problem, attempt, delay)
            if self.stop.wait(delay):
                raise Stopping()

    def backoff(self, attempt, retry_after=None):
        """Exponential, capped, with jitter: half fixed, half random, so that
        workers knocked over together do not come back together."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2 ** min(attempt - 1, 30)))
        delay = ceiling / 2 + random.uniform(0, ceiling / 2)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.backoff_max))
        return delay

    def key_for(self, event_id):
        return f"{self.key_prefix}{event_id}"


# ---------------------------------------------------------------------------
# Stopping and waking
# ---------------------------------------------------------------------------

class StopSignal:
    """SIGTERM / SIGINT set a flag and wake whatever select() is waiting."""

    def __init__(self):
        self.requested = False
        self.rfd, self.wfd = os.pipe()
        os.set_blocking(self.rfd, False)
        os.set_blocking(self.wfd, False)
        signal.signal(signal.SIGTERM, self._handler)
        signal.signal(signal.SIGINT, self._handler)

    def _handler(self, signum, frame):
        if not self.requested:
            log.info("%s received: stopping after the step in hand", signal.Signals(signum).name)
        self.requested = True
        try:
            os.write(self.wfd, b"x")
        except OSError:
            pass

    def wait(self, seconds, also=None):
        """Sleep up to SECONDS; True if a stop was requested.  With ALSO (a
        file descriptor), return early when it becomes readable too."""
        if self.requested:
            return True
        fds = [self.rfd] + ([also] if also is not None else [])
        deadline = time.monotonic() + seconds
        while not self.requested:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            readable, _, _ = select.select(fds, [], [], left)
            if also is not None and also in readable:
                break
        return self.requested


# ---------------------------------------------------------------------------
# The worker
# ---------------------------------------------------------------------------

class Worker:
    def __init__(self, args):
        self.args = args
        self.consumer = args.consumer
        self.stop = StopSignal()
        self.idp = IdentityProvider(args, self.stop)
        self.crash = CrashPoints(os.environ.get("IDENTITY_SYNC_CRASH_AT"))
        self.conn = None
        self.woken = False
        self.counts = {"events": 0, "created": 0, "rejected": 0, "deleted": 0,
                       "absent": 0, "skipped": 0, "ack_refused": 0}

    # -- database --------------------------------------------------------------

    def connect(self):
        kwargs = {"autocommit": True}
        if not os.environ.get("PGAPPNAME") and "application_name" not in (self.args.dsn or ""):
            kwargs["application_name"] = "farmreg-identity-sync"
        conn = psycopg.connect(self.args.dsn or "", **kwargs)
        try:
            self.prepare(conn)
        except BaseException:
            conn.close()
            raise
        self.conn = conn
        log.info("connected (database %s, consumer %r); listening on %s",
                 conn.info.dbname, self.consumer, CHANNEL)

    def prepare(self, conn):
        # One worker per consumer at a time: a second copy waits here (a
        # second one would be safe, every step being idempotent, but would
        # only do everything twice).  The lock goes with the session, so a
        # killed worker's lock is released when its connection closes.
        waited = False
        while True:
            got = conn.execute(
                "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('farmreg.identity-sync'),"
                " pg_catalog.hashtext(%s))", (self.consumer,)).fetchone()[0]
            if got:
                break
            if not waited:
                log.info("another worker for consumer %r is running; waiting for it", self.consumer)
                waited = True
            if self.stop.wait(1.0):
                raise Stopping()
        # psycopg reads the notifications that arrive while a query runs and
        # hands them to this handler: remember them, or a notification that
        # came during a poll would leave us asleep with work to do
        conn.add_notify_handler(self._notified)
        conn.execute(f"LISTEN {CHANNEL}")

    def _notified(self, notify):
        self.woken = True

    def poll(self):
        self.woken = False
        cur = self.conn.execute(
            "SELECT id, type, user_id, payload FROM farmreg.poll_events(%s, %s) ORDER BY pos",
            (self.consumer, self.args.batch_size))
        return cur.fetchall()

    def ack(self, event_id):
        return self.conn.execute("SELECT farmreg.ack_events(%s, %s)",
                                 (self.consumer, event_id)).fetchone()[0]

    def wait_for_events(self):
        """Until a notification, a stop, or --poll-interval seconds."""
        if self.woken:
            return
        fd = self.conn.fileno()
        if self.stop.wait(self.args.poll_interval, also=fd):
            return
        # read whatever woke us (notifications; or the server went away, which
        # raises here and sends us to reconnect)
        self.conn.pgconn.consume_input()
        while self.conn.pgconn.notifies() is not None:
            pass

    # -- events --------------------------------------------------------------

    def handle(self, event_id, etype, user_id, payload):
        """Do the event's effect and acknowledge it; False when the ack was
        refused (another worker is ahead of us: poll again)."""
        what = f"event {event_id} ({etype}, user {user_id})"
        if etype == "farm_admin_registered":
            return self.registered(what, event_id, user_id, payload)
        if etype == "farm_admin_deregistered":
            return self.deregistered(what, event_id, user_id)
        log.info("%s: not for the identity provider; skipped", what)
        self.counts["skipped"] += 1
        return self.acknowledge(what, event_id)

    def registered(self, what, event_id, user_id, payload):
        body = {
            "external_id": str(user_id),
            "username": payload.get("username"),
            "email": payload.get("email"),
            "name": payload.get("name"),
            "attributes": {
                "farmreg_user_id": user_id,
                "farm_id": payload.get("farm_id"),
                "farmer_id": payload.get("farmer_id"),
                "usda_uid": payload.get("usda_uid"),
            },
        }
        out = self.idp.call(what, "POST", "/v1/accounts", body, self.idp.key_for(event_id))
        if out.status == 409:
            # A conflict may be our own account from an earlier delivery whose
            # idempotency record the provider no longer has: then it is done.
            found = self.idp.call(f"{what} lookup", "GET", self.external_path(user_id),
                                  ok_statuses=(404,))
            if found.status == 200:
                log.info("%s: the account exists already (HTTP 409, found by external id)", what)
                self.crash.reached("after_create")
                self.counts["created"] += 1
                return self.acknowledge(what, event_id)
        if 200 <= out.status < 300:
            acct = out.body.get("id") if isinstance(out.body, dict) else None
            log.info("%s: account %s created (HTTP %d)", what, acct, out.status)
            self.crash.reached("after_create")
            self.counts["created"] += 1
            return self.acknowledge(what, event_id)

        # a permanent rejection: undo the registration, atomically with the ack
        code = out.error_code()
        reason = f"identity provider rejected the account: HTTP {out.status}" + (f" {code}" if code else "")
        self.crash.reached("after_reject")
        with self.conn.transaction() as tx:
            removed = self.conn.execute("SELECT farmreg.deregister_farm_admin(%s, %s)",
                                        (user_id, reason)).fetchone()[0]
            acked = self.ack(event_id)
            self.crash.reached("in_reject_txn")
            if not acked:
                raise psycopg.Rollback(tx)
        if not acked:
            log.warning("%s: acknowledgement refused (another worker is ahead); rolled back", what)
            self.counts["ack_refused"] += 1
            return False
        log.warning("%s: %s; %s", what, reason,
                    "registration undone" if removed else "the user was already gone")
        self.counts["rejected"] += 1
        self.crash.reached("after_ack")
        return True

    def deregistered(self, what, event_id, user_id):
        # By external id (the farmreg user id, never reused), not by e-mail:
        # the address may belong to a newer user by now.
        out = self.idp.call(what, "DELETE", self.external_path(user_id), key=self.idp.key_for(event_id),
                            ok_statuses=(404,))
        if out.status == 404:
            log.info("%s: no account to delete", what)
            self.counts["absent"] += 1
        elif 200 <= out.status < 300:
            log.info("%s: account deleted (HTTP %d)", what, out.status)
            self.counts["deleted"] += 1
        else:
            # a 4xx from a DELETE says nothing about the user; it must not be
            # skipped either (the account would stay): wait for an operator
            log.error("%s: the provider refused the deletion (HTTP %d %s); retrying",
                      what, out.status, out.error_code() or "")
            if self.stop.wait(self.args.backoff_max):
                raise Stopping()
            return False
        self.crash.reached("after_delete")
        return self.acknowledge(what, event_id)

    def external_path(self, user_id):
        return f"/v1/accounts/by-external-id/{quote(str(user_id), safe='')}"

    def acknowledge(self, what, event_id):
        if self.ack(event_id):
            self.crash.reached("after_ack")
            return True
        log.warning("%s: acknowledgement refused (another worker is ahead); polling again", what)
        self.counts["ack_refused"] += 1
        return False

    # -- main loop ---------------------------------------------------------------

    def run_connected(self):
        while not self.stop.requested:
            events = self.poll()
            if events:
                log.debug("polled %d events (%d..%d)", len(events), events[0][0], events[-1][0])
            self.crash.reached("after_poll")
            for event_id, etype, user_id, payload in events:
                if self.stop.requested:
                    return
                self.counts["events"] += 1
                if not self.handle(event_id, etype, user_id, payload or {}):
                    break
            else:
                if len(events) < self.args.batch_size:
                    self.wait_for_events()

    def run(self):
        delay = 0
        while not self.stop.requested:
            try:
                if self.conn is None:
                    self.connect()
                    delay = 0
                self.run_connected()
            except Stopping:
                break
            except GiveUp:
                self.close()
                return EX_TEMPFAIL
            except (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction) as e:
                # the database went away (restart, network, failover), or this
                # server is a standby now (25006): connect again - a
                # multi-host connection string with
                # target_session_attrs=read-write finds the new primary - and
                # poll again; the unacknowledged event comes back
                self.close()
                delay = min(self.args.backoff_max, max(self.args.backoff_initial, delay * 2))
                log.warning("database connection lost or refused, or not the primary (%s);"
                            " reconnecting in %.2fs",
                            str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__, delay)
                if self.stop.wait(delay):
                    break
        self.close()
        log.info("stopped (%s; %d transient failures retried)",
                 ", ".join(f"{k} {v}" for k, v in self.counts.items()), self.idp.retries)
        return 0

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
            self.conn = None


def status_list(text):
    try:
        return frozenset(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of HTTP statuses: {text!r}")


def parse_args(argv=None):
    env = os.environ.get
    ap = argparse.ArgumentParser(
        description="Create and delete identity-provider accounts as farmreg's outbox says.",
        epilog="Database: the libpq environment variables (PGHOST, PGDATABASE, PGUSER, ...) or --dsn.")
    ap.add_argument("--idp-url", default=env("IDP_URL"),
                    help="base URL of the identity provider (default: $IDP_URL)")
    ap.add_argument("--idp-token", default=env("IDP_TOKEN"),
                    help="bearer token for the provider (default: $IDP_TOKEN; never logged)")
    ap.add_argument("--dsn", default=env("SYNC_DSN", ""),
                    help="libpq connection string (default: $SYNC_DSN, else the PG* variables)")
    ap.add_argument("--consumer", default=env("SYNC_CONSUMER", "identity-sync"),
                    help="consumer name in farmreg.event_consumers (default: identity-sync)")
    ap.add_argument("--batch-size", type=int, default=int(env("SYNC_BATCH_SIZE", "100")),
                    help="events per poll (default 100)")
    ap.add_argument("--poll-interval", type=float, default=float(env("SYNC_POLL_INTERVAL", "30")),
                    help="seconds between polls when no notification comes (default 30)")
    ap.add_argument("--http-timeout", type=float, default=float(env("SYNC_HTTP_TIMEOUT", "10")),
                    help="seconds to wait for the provider (default 10)")
    ap.add_argument("--backoff-initial", type=float, default=float(env("SYNC_BACKOFF_INITIAL", "0.5")),
                    help="first retry after about this many seconds, doubling (default 0.5)")
    ap.add_argument("--backoff-max", type=float, default=float(env("SYNC_BACKOFF_MAX", "60")),
                    help="longest wait between retries, in seconds (default 60)")
    ap.add_argument("--max-attempts", type=int, default=int(env("SYNC_MAX_ATTEMPTS", "0")),
                    help="give up (exit 75, nothing acknowledged) after this many attempts"
                         " at one call; 0 = never (default)")
    ap.add_argument("--reject-statuses", type=status_list,
                    default=status_list(env("SYNC_REJECT_STATUSES", "400,409,422")),
                    help="provider statuses that reject the account for good and undo the"
                         " registration (default 400,409,422)")
    ap.add_argument("--key-prefix", default=env("SYNC_KEY_PREFIX", "farmreg-event-"),
                    help="Idempotency-Key = prefix + event id (default farmreg-event-)")
    ap.add_argument("--log-level", default=env("SYNC_LOG_LEVEL", "INFO"),
                    help="DEBUG, INFO (default), WARNING or ERROR")
    args = ap.parse_args(argv)
    if not args.idp_url:
        ap.error("--idp-url (or $IDP_URL) is required")
    if args.batch_size < 1 or args.poll_interval <= 0 or args.http_timeout <= 0:
        ap.error("--batch-size, --poll-interval and --http-timeout must be positive")
    bad = {s for s in args.reject_statuses if not 400 <= s < 500 or s in TRANSIENT_STATUSES}
    if bad:
        ap.error(f"--reject-statuses must be 4xx statuses that are not transient: {sorted(bad)}")
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper(), logging.INFO), stream=sys.stderr,
        format="%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s")
    try:
        worker = Worker(args)
    except ValueError as e:
        log.error("%s", e)
        return EX_CONFIG
    log.info("starting: provider %s, consumer %r, batch %d, poll every %gs, rejecting on HTTP %s",
             args.idp_url, args.consumer, args.batch_size, args.poll_interval,
             ",".join(str(s) for s in sorted(args.reject_statuses)))
    return worker.run()


if __name__ == "__main__":
    sys.exit(main())
