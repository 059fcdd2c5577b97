#!/usr/bin/env python3
"""A fake identity provider for testing farmreg's identity sync worker.

A small threaded HTTP server on 127.0.0.1 that keeps accounts in memory (and,
if asked, in a JSON file), honours Idempotency-Key headers, and fails a
configurable share of requests on purpose:

  transiently   --transient-rate R (0..1) of the API requests, chosen with a
                seeded random generator, fail in one of these ways
                (--transient-modes, default all of them):
                  503         503 Service Unavailable, nothing done
                  reset       the connection is reset before anything is done
                  drop_after  the request IS carried out (and its response
                              stored under its idempotency key), then the
                              connection is closed without a response
                  slow_after  the request IS carried out, then the response
                              comes only after --slow-seconds (longer than the
                              client's timeout)
                The last two are the interesting ones: the client cannot know
                the account exists, and only the idempotency key keeps its
                retry from creating a second one.
  permanently   account creations for a deterministic share (--reject-rate)
                of e-mail addresses are refused with 422 email_rejected:
                those whose sha256("SEED:" + lower(email)) falls below the
                rate (is_rejected() below; a test imports it to know which).

API (JSON bodies; an optional bearer token, --token):
  POST   /v1/accounts                  {"external_id", "username", "email",
                                        "name", "attributes"} -> 201 account;
                                        409 email_taken / username_taken /
                                        external_id_taken; 422 email_rejected;
                                        400 invalid_request
  GET    /v1/accounts/by-external-id/ID -> 200 account | 404
  DELETE /v1/accounts/by-external-id/ID -> 204 | 404
Idempotency-Key on POST and DELETE: the first definitive response (2xx, 4xx)
is stored with a fingerprint of the request; the same key again gets the same
status and body and does nothing (header Idempotent-Replayed: true); the same
key with a different request gets 422 idempotency_key_reused.  Requests with
the same key are handled one at a time.

Test-only endpoints (never fail, need no token):
  GET  /_admin/state        {"accounts": [...], "stats": {...}, "config": {...}}
  POST /_admin/config       {"transient_rate": x, "reject_rate": y, ...}
  POST /_admin/forget-keys  drop the idempotency records (a provider whose
                            records expired)
  GET  /_admin/health       200

Logs one line per request (method, path, status, key, injected failure) -
never a request body.  Standard library only.
"""

import argparse
import hashlib
import io
import json
import logging
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

log = logging.getLogger("fake-idp")

TRANSIENT_MODES = ("503", "reset", "drop_after", "slow_after")


def is_rejected(email, seed, rate):
    """True when the provider refuses to create an account for EMAIL for
    good: deterministic in (seed, lower-cased email)."""
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{seed}:{email.strip().lower()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64 < rate


class Provider:
    """The accounts, the idempotency records and the failure dice."""

    def __init__(self, args):
        self.lock = threading.RLock()
        self.config = {
            "transient_rate": args.transient_rate,
            "transient_modes": list(args.transient_modes),
            "reject_rate": args.reject_rate,
            "reject_seed": args.seed,
            "slow_seconds": args.slow_seconds,
        }
        self.rng = random.Random(args.seed)
        self.token = args.token
        self.accounts = {}          # external_id -> account
        self.next_id = 1
        self.keys = {}              # idempotency key -> (fingerprint, status, body)
        self.key_locks = {}         # idempotency key -> Lock
        self.stats = {
            "requests": 0,
            "injected": {m: 0 for m in TRANSIENT_MODES},
            "created": 0,
            "replayed": 0,
            "rejected": 0,
            "conflicts": 0,
            "deleted": 0,
            "delete_missing": 0,
            "lookups": 0,
            "unauthorized": 0,
            "key_reused": 0,
        }
        self.state_file = args.state_file
        self.dirty = threading.Event()

    # -- failure injection ------------------------------------------------

    def roll_transient(self):
        """None, or the transient failure this request gets."""
        with self.lock:
            rate = self.config["transient_rate"]
            modes = self.config["transient_modes"]
            if rate <= 0 or not modes or self.rng.random() >= rate:
                return None
            mode = self.rng.choice(modes)
            self.stats["injected"][mode] += 1
            return mode

    def rejects(self, email):
        with self.lock:
            return is_rejected(email, self.config["reject_seed"], self.config["reject_rate"])

    # -- idempotency ------------------------------------------------------

    def key_lock(self, key):
        with self.lock:
            return self.key_locks.setdefault(key, threading.Lock())

    # -- operations (called with the key lock held, if any) ----------------

    def create(self, body):
        if not isinstance(body, dict):
            return 400, {"error": "invalid_request", "detail": "a JSON object is expected"}
        missing = [f for f in ("external_id", "username", "email") if not body.get(f)]
        if missing:
            return 400, {"error": "invalid_request", "detail": "missing " + ", ".join(missing)}
        ext = str(body["external_id"])
        email = str(body["email"]).strip()
        username = str(body["username"]).strip()
        if self.rejects(email):
            with self.lock:
                self.stats["rejected"] += 1
            return 422, {"error": "email_rejected",
                         "detail": "this address cannot be used for an account"}
        with self.lock:
            if ext in self.accounts:
                self.stats["conflicts"] += 1
                return 409, {"error": "external_id_taken"}
            for acct in self.accounts.values():
                if acct["email"].lower() == email.lower():
                    self.stats["conflicts"] += 1
                    return 409, {"error": "email_taken"}
                if acct["username"].lower() == username.lower():
                    self.stats["conflicts"] += 1
                    return 409, {"error": "username_taken"}
            acct = {
                "id": f"acct_{self.next_id:06d}",
                "external_id": ext,
                "username": username,
                "email": email,
                "name": body.get("name"),
                "attributes": body.get("attributes") or {},
                "created_at": time.time(),
            }
            self.next_id += 1
            self.accounts[ext] = acct
            self.stats["created"] += 1
            self.dirty.set()
            return 201, acct

    def lookup(self, ext):
        with self.lock:
            self.stats["lookups"] += 1
            acct = self.accounts.get(ext)
        if acct is None:
            return 404, {"error": "not_found"}
        return 200, acct

    def delete(self, ext):
        with self.lock:
            if self.accounts.pop(ext, None) is None:
                self.stats["delete_missing"] += 1
                return 404, {"error": "not_found"}
            self.stats["deleted"] += 1
            self.dirty.set()
            return 204, None

    # -- inspection -------------------------------------------------------

    def snapshot(self):
        with self.lock:
            return {
                "accounts": sorted(self.accounts.values(), key=lambda a: a["id"]),
                "stats": json.loads(json.dumps(self.stats)),
                "config": dict(self.config),
                "idempotency_keys": len(self.keys),
            }

    def write_state(self):
        if not self.state_file:
            return
        data = json.dumps(self.snapshot(), indent=1, sort_keys=True)
        tmp = f"{self.state_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, self.state_file)


class Handler(BaseHTTPRequestHandler):
    server_version = "fake-idp/1.0"
    protocol_version = "HTTP/1.1"

    # quiet: our own log line per request instead of the default one
    def log_message(self, fmt, *args):
        pass

    @property
    def provider(self):
        return self.server.provider

    # -- plumbing ----------------------------------------------------------

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        if not raw:
            return None, raw
        try:
            return json.loads(raw), raw
        except ValueError:
            return ValueError, raw

    def send_json(self, status, body, extra_headers=()):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def abort_connection(self):
        """Reset the connection: no response at all."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
        self.close_connection = True
        self.wfile = io.BytesIO()   # handle() flushes it after we return

    def log_request_line(self, status, key, injected):
        log.info("%s %s -> %s%s%s", self.command, urlsplit(self.path).path, status,
                 f" key={key}" if key else "", f" injected={injected}" if injected else "")

    # -- dispatch ------------------------------------------------------------

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def dispatch(self):
        path = urlsplit(self.path).path
        body, raw = self.read_body()
        if path.startswith("/_admin/"):
            return self.admin(path, body)

        p = self.provider
        with p.lock:
            p.stats["requests"] += 1
        key = self.headers.get("Idempotency-Key")

        if p.token and self.headers.get("Authorization") != f"Bearer {p.token}":
            with p.lock:
                p.stats["unauthorized"] += 1
            self.log_request_line(401, key, None)
            return self.send_json(401, {"error": "unauthorized"})

        if self.command == "POST" and path == "/v1/accounts":
            op = ("create", None)
        elif path.startswith("/v1/accounts/by-external-id/") and self.command in ("GET", "DELETE"):
            ext = unquote(path[len("/v1/accounts/by-external-id/"):])
            op = ("lookup" if self.command == "GET" else "delete", ext)
        else:
            self.log_request_line(404, key, None)
            return self.send_json(404, {"error": "no_such_endpoint"})

        injected = p.roll_transient()
        if injected == "503":
            self.log_request_line(503, key, injected)
            return self.send_json(503, {"error": "unavailable"})
        if injected == "reset":
            self.log_request_line("reset", key, injected)
            return self.abort_connection()

        if body is ValueError:
            status, resp, replayed = 400, {"error": "invalid_request", "detail": "bad JSON"}, False
        elif op[0] == "lookup":
            status, resp = p.lookup(op[1])
            replayed = False
        else:
            status, resp, replayed = self.mutate(op, body, raw, key)

        if injected == "drop_after":
            self.log_request_line(f"{status} dropped", key, injected)
            return self.abort_connection()
        if injected == "slow_after":
            time.sleep(p.config["slow_seconds"])
        self.log_request_line(status, key, injected if injected else ("replay" if replayed else None))
        headers = [("Idempotent-Replayed", "true")] if replayed else []
        try:
            self.send_json(status, resp, headers)
        except OSError:
            self.close_connection = True   # the client gave up waiting

    def mutate(self, op, body, raw, key):
        """A POST or DELETE, under its idempotency key if it has one."""
        p = self.provider
        fingerprint = hashlib.sha256(
            self.command.encode() + b" " + self.path.encode() + b"\n" + raw).hexdigest()

        def run():
            if op[0] == "create":
                return p.create(body)
            return p.delete(op[1])

        if not key:
            status, resp = run()
            return status, resp, False
        with p.key_lock(key):
            with p.lock:
                stored = p.keys.get(key)
            if stored is not None:
                if stored[0] != fingerprint:
                    with p.lock:
                        p.stats["key_reused"] += 1
                    return 422, {"error": "idempotency_key_reused"}, False
                with p.lock:
                    p.stats["replayed"] += 1
                return stored[1], stored[2], True
            status, resp = run()
            if status < 500:
                with p.lock:
                    p.keys[key] = (fingerprint, status, resp)
            return status, resp, False

    def admin(self, path, body):
        p = self.provider
        if path == "/_admin/health":
            return self.send_json(200, {"ok": True})
        if path == "/_admin/state" and self.command == "GET":
            return self.send_json(200, p.snapshot())
        if path == "/_admin/forget-keys" and self.command == "POST":
            with p.lock:
                n = len(p.keys)
                p.keys.clear()
            log.info("forgot %d idempotency records", n)
            return self.send_json(200, {"forgotten": n})
        if path == "/_admin/config" and self.command == "POST" and isinstance(body, dict):
            with p.lock:
                for k, v in body.items():
                    if k not in p.config:
                        return self.send_json(400, {"error": f"unknown setting {k}"})
                    p.config[k] = v
                conf = dict(p.config)
            log.info("config now %s", conf)
            return self.send_json(200, conf)
        return self.send_json(404, {"error": "no_such_endpoint"})


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8089, help="0 picks a free one (see --port-file)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--seed", default="0", help="seed of the failure dice and of the rejected e-mails")
    ap.add_argument("--transient-rate", type=float, default=0.0)
    ap.add_argument("--transient-modes", default=",".join(TRANSIENT_MODES),
                    type=lambda s: [m for m in s.split(",") if m])
    ap.add_argument("--reject-rate", type=float, default=0.0)
    ap.add_argument("--slow-seconds", type=float, default=3.0)
    ap.add_argument("--token", default=os.environ.get("FAKE_IDP_TOKEN"),
                    help="require 'Authorization: Bearer TOKEN' (default: $FAKE_IDP_TOKEN, none)")
    ap.add_argument("--state-file", help="keep a JSON copy of the state here")
    ap.add_argument("--log-file", help="log here instead of stderr")
    args = ap.parse_args(argv)
    for m in args.transient_modes:
        if m not in TRANSIENT_MODES:
            ap.error(f"unknown transient mode {m!r} (known: {', '.join(TRANSIENT_MODES)})")
    return args


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(
        filename=args.log_file, level=logging.INFO,
        format="%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s")
    provider = Provider(args)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 64

        def handle_error(self, request, client_address):
            # a client that timed out or was killed: part of the game
            exc = sys.exc_info()[1]
            if isinstance(exc, (ConnectionError, TimeoutError)):
                log.info("connection from port %s: %s", client_address[1], type(exc).__name__)
            else:
                log.exception("error handling a request from port %s", client_address[1])

    server = Server((args.host, args.port), Handler)
    server.provider = provider
    port = server.server_address[1]
    if args.port_file:
        tmp = f"{args.port_file}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    log.info("listening on http://%s:%d (transient %.0f%% %s, rejected %.0f%% of e-mails, seed %s)",
             args.host, port, args.transient_rate * 100, ",".join(args.transient_modes),
             args.reject_rate * 100, args.seed)

    stopping = threading.Event()

    def stop(signum, frame):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def state_writer():
        while not stopping.is_set():
            if provider.dirty.wait(0.2):
                provider.dirty.clear()
                provider.write_state()

    if args.state_file:
        provider.write_state()
        threading.Thread(target=state_writer, daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        provider.write_state()
        log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
