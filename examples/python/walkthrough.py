#!/usr/bin/python3
"""walkthrough -- farmreg from Python, step by step.

    FARMREG_EXAMPLE_PASSWORD=... /usr/bin/python3 examples/python/walkthrough.py USDA_UID USDA_UID

Connects with libpq's environment (PGHOST, PGPORT, PGDATABASE, PGUSER, ...)
as an app role that may EXECUTE farmreg.register_farm_admin and
farmreg.verify_password, and needs two unclaimed USDA ids from
farmreg.usda_farms.  The password comes from FARMREG_EXAMPLE_PASSWORD, or
is asked for on a terminal; it is never printed.

  1. register a farm admin and read the registration_result
  2. render every field error (English and Spanish, then the database checks)
  3. lose the answer to a registration on a dropped connection, reconnect,
     and retry with the same idempotency key: the same ids
  4. verify a login
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import uuid

import psycopg

from farmreg_client import register, register_with_retry, render_errors, verify_login
from lossy_link import LossyLink


def ids(reg) -> str:
    return f"user_id={reg.user_id} farm_id={reg.farm_id} farmer_id={reg.farmer_id}"


def connect(**kw) -> psycopg.Connection:
    # autocommit: each registration is its own transaction, committed by the
    # time its answer is sent (the function runs its steps in a
    # subtransaction, so it also works inside a caller's transaction).
    return psycopg.connect("", autocommit=True, **kw)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("usda_uids", nargs=2, metavar="USDA_UID",
                    help="two unclaimed USDA ids (farmreg.usda_farms.usda_uid)")
    args = ap.parse_args()
    password = os.environ.get("FARMREG_EXAMPLE_PASSWORD")
    if not password:
        if not sys.stdin.isatty():
            sys.exit("set FARMREG_EXAMPLE_PASSWORD (8 characters or more)")
        password = getpass.getpass("password for the example users: ")

    conn = connect()
    print(f"farmreg from Python: psycopg {psycopg.__version__}, libpq {psycopg.pq.version()}, "
          f"as role {conn.info.user} on database {conn.info.dbname}")

    # -- 1 -------------------------------------------------------------------
    print("\n== 1. Register a farm admin ==")
    maria = dict(username="maria.lopez", password=password, name="María López",
                 email="maria@greenacres.example", usda_uid=args.usda_uids[0],
                 idempotency_key=f"signup-{uuid.uuid4()}")
    reg = register(conn, **maria)
    if not reg.ok:
        print(f"registration failed at step {reg.failed_step}:\n{render_errors(reg)}")
        return 1
    print(f"registered: {ids(reg)} ({maria['username']}, {maria['usda_uid']})")
    again = register(conn, **maria)
    print(f"same request, same idempotency key: {ids(again)}"
          f" ({'the same ids, nothing written twice' if again == reg else 'DIFFERENT'})")

    # -- 2 -------------------------------------------------------------------
    print("\n== 2. Field errors, rendered next to their fields ==")
    bad = dict(username="x", password="short", name="   ", email="not-an-email",
               usda_uid="", idempotency_key="line\nbreak")
    for locale in ("en", "es-MX"):
        reg = register(conn, **bad, locale=locale)
        print(f"every field wrong (locale {locale}): ok={reg.ok} failed_step={reg.failed_step} "
              f"error_code={reg.error_code}, {len(reg.errors)} errors")
        print(render_errors(reg))
    taken = dict(maria, password=password + "-other", idempotency_key=None,
                 email="MARIA@GreenAcres.example")
    reg = register(conn, **taken)
    print(f"already taken (database lookups): {len(reg.errors)} errors")
    print(render_errors(reg))

    # -- 3 -------------------------------------------------------------------
    print("\n== 3. The connection drops before the answer arrives ==")
    link = LossyLink(conn.info.host, int(conn.info.port))
    sam = dict(username="sam.green", password=password, name="Sam Green",
               email="sam@sunnyside.example", usda_uid=args.usda_uids[1],
               idempotency_key=f"signup-{uuid.uuid4()}")
    first = connect(host=link.host, port=str(link.port))
    link.lose_next_answer()

    def on_retry(attempt, exc):
        print(f"attempt {attempt}: no answer: {type(exc).__name__}: "
              f"{str(exc).strip().splitlines()[0]}")
        print("   the registration may or may not have committed; "
              "retrying on a new connection with the same idempotency key")

    reg, retry_conn = register_with_retry(
        lambda: connect(host=link.host, port=str(link.port)), sam,
        on_retry=on_retry, conn=first)
    print(f"retried: {ids(reg)}")
    again = register(retry_conn, **sam)
    print(f"retried again: {ids(again)} ({'the same ids' if again == reg else 'DIFFERENT'})")
    naive = register(retry_conn, **dict(sam, idempotency_key=None))
    print("the same retry without the key: "
          + ", ".join(e.code for e in naive.errors)
          + " -- the lost attempt had committed")
    retry_conn.close()
    link.close()

    # -- 4 -------------------------------------------------------------------
    print("\n== 4. Verify a login ==")
    for label, login, pw in [
            ("username, right password", "maria.lopez", password),
            ("email in another case, right password", "MARIA@GREENACRES.EXAMPLE", password),
            ("username, wrong password", "maria.lopez", password + "-wrong"),
            ("unknown login", "nobody.here", password)]:
        user_id = verify_login(conn, login, pw)
        print(f"login {label}: {'user_id=%d' % user_id if user_id else 'no match'}")

    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
