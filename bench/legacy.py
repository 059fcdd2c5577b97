#!/usr/bin/python3
"""bench/legacy.py -- imported password hashes and login timing (scripts/
bench.sh, issue 13), at farmreg's default hashing costs.

Usage: legacy.py DBNAME USERS DISTINCT

DBNAME has farmreg, USDA farms L-1 .. L-USERS, and no users.  Connects
with libpq's PG* variables, as a superuser (it sets the superuser-only
hashing costs for its own session in part 3).  Prints CSV lines item,value
(scripts/bench.sh collects them into legacy.csv).

0. Support: one batch element carrying a bcrypt `password_hash` instead of
   a `password`, rolled back.  If it does not register (a farmreg without
   issue 13 answers password_hash_invalid), the parts that need imported
   hashes are skipped and the reason is printed as `note`.
1. Import (when supported): USERS users in one register_farm_admins call,
   each with a bcrypt hash (cost 10, made here by Debian's python3-bcrypt;
   DISTINCT different hashes of DISTINCT passwords, dealt round-robin:
   making 10,000 would take python3-bcrypt minutes, and the import only
   checks each string's form, it never computes one), legacy ids as
   idempotency keys.  Then the first (upgrading: bcrypt verified, argon2id
   computed and stored) and a later login of 50 of them; afterwards each
   stored hash must be argon2id at the current costs, and a wrong password
   must have left another user's bcrypt hash as it was.
2. No enumeration with legacy users present: 50 wrong passwords for known
   bcrypt users against 50 unknown logins, interleaved (and, for reference,
   50 wrong passwords for the users upgraded in 1).
   Then every user is deleted.
3. The same USERS users imported with plaintext passwords (the same
   passwords), hashed at the default costs: the import the hashes replace.
   Then no enumeration, 50 known users with a wrong password against 50
   unknown logins, interleaved: at the defaults; after SET
   farmreg.password_opslimit = 4; with memlimit '46MB' and opslimit 1.
   (Each configuration starts with two calls of each kind that are not
   counted: plans, caches, a decoy made at new costs.)
"""

import statistics
import sys
import time

import csv

import bcrypt
import psycopg
from psycopg.types.json import Jsonb

BCRYPT_COST = 10
ENUM_N = 50


OUT = csv.writer(sys.stdout, lineterminator="\n")


def emit(item, value):
    OUT.writerow([item, value])
    sys.stdout.flush()


def password(i, distinct):
    return f"legacy password {i % distinct}"


def request(i):
    return {"username": f"legacy{i}", "name": f"Legacy User {i}",
            "email": f"legacy{i}@example.com", "usda_uid": f"L-{i}",
            "idempotency_key": f"legacy-{i}"}


def timed(conn, sql, args):
    t0 = time.perf_counter()
    rows = conn.execute(sql, args).fetchall()
    return (time.perf_counter() - t0) * 1000, rows


def import_batch(conn, elements):
    ms, rows = timed(conn, "SELECT ok, error_code FROM farmreg.register_farm_admins(%s)",
                     (Jsonb(elements),))
    bad = [r[1] for r in rows if not r[0]]
    return ms, len(rows) - len(bad), bad[:3]


def login_ms(conn, login, pw):
    t0 = time.perf_counter()
    (uid,) = conn.execute("SELECT farmreg.verify_password(%s, %s)", (login, pw)).fetchone()
    return (time.perf_counter() - t0) * 1000, uid


def enumeration(conn, tag, known_logins):
    """median ms of a wrong password for known users against unknown logins"""
    for i in range(2):
        login_ms(conn, known_logins[i], "a wrong password, surely")
        login_ms(conn, f"nobody{i}.{tag}@example.com", "a wrong password, surely")
    known, unknown, answered = [], [], 0
    for i in range(ENUM_N):
        ms, uid = login_ms(conn, known_logins[i % len(known_logins)], f"wrong password {i}")
        known.append(ms)
        answered += uid is None
        ms, uid = login_ms(conn, f"ghost{i}.{tag}@example.com", f"wrong password {i}")
        unknown.append(ms)
        answered += uid is None
    k, u = statistics.median(known), statistics.median(unknown)
    emit(f"enum_{tag}_known_ms", f"{k:.2f}")
    emit(f"enum_{tag}_unknown_ms", f"{u:.2f}")
    emit(f"enum_{tag}_n", ENUM_N)
    emit(f"enum_{tag}_all_null", int(answered == 2 * ENUM_N))


def delete_users(conn):
    for table in ("idempotency_keys", "farmers", "farms", "events", "users"):
        conn.execute(f"DELETE FROM farmreg.{table}")
    conn.execute("VACUUM farmreg.users, farmreg.farms, farmreg.farmers,"
                 " farmreg.idempotency_keys, farmreg.events")


def main():
    db, users, distinct = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    conn = psycopg.connect(dbname=db, autocommit=True)
    conn.execute("SELECT farmreg.error_message('username_taken')")     # loads farmreg
    emit("users", users)
    emit("opslimit", conn.execute("SELECT current_setting('farmreg.password_opslimit')").fetchone()[0])
    emit("memlimit", conn.execute("SELECT current_setting('farmreg.password_memlimit')").fetchone()[0])

    # 0. does this farmreg take imported hashes?
    probe = dict(request(0), password_hash=bcrypt.hashpw(b"probe password", bcrypt.gensalt(4)).decode())
    try:
        with conn.transaction(force_rollback=True):
            ok, code = conn.execute("SELECT ok, error_code FROM farmreg.register_farm_admins(%s)",
                                    (Jsonb([probe]),)).fetchone()
    except psycopg.Error as e:
        ok, code = False, f"an error (SQLSTATE {e.sqlstate})"
    supported = bool(ok)
    emit("supported", int(supported))
    if not supported:
        emit("note", f"this farmreg does not take imported password hashes: a batch element with a"
                     f" bcrypt password_hash came back {code}; the bcrypt import, the upgrading"
                     f" login and the legacy-user enumeration figures were skipped")

    if supported:
        t0 = time.perf_counter()
        hashes = [bcrypt.hashpw(password(j, distinct).encode(), bcrypt.gensalt(BCRYPT_COST)).decode()
                  for j in range(distinct)]
        emit("bcrypt_cost", BCRYPT_COST)
        emit("bcrypt_distinct", distinct)
        emit("bcrypt_python_ms", f"{(time.perf_counter() - t0) * 1000 / distinct:.1f}")

        # 1. the bcrypt import
        elements = [dict(request(i), password_hash=hashes[i % distinct]) for i in range(1, users + 1)]
        ms, ok_count, bad = import_batch(conn, elements)
        emit("import_bcrypt_ms", f"{ms:.1f}")
        emit("import_bcrypt_ok", ok_count)
        if bad:
            emit("import_bcrypt_errors", " ".join(bad))
        stored = conn.execute("SELECT count(*) FROM farmreg.users AS u"
                              " WHERE u.password_hash LIKE '$2b$10$%'").fetchone()[0]
        emit("import_bcrypt_stored_as_given", int(stored == ok_count))

        # the first login upgrades, a later one verifies argon2id
        first, later, upgraded, logged_in = [], [], 0, 0
        for i in range(1, ENUM_N + 1):
            ms, uid = login_ms(conn, f"legacy{i}", password(i, distinct))
            first.append(ms)
            ms, uid2 = login_ms(conn, f"legacy{i}", password(i, distinct))
            later.append(ms)
            logged_in += uid is not None and uid == uid2
            upgraded += conn.execute(
                "SELECT u.password_hash LIKE '$argon2id$%%' FROM farmreg.users AS u"
                " WHERE u.username = %s", (f"legacy{i}",)).fetchone()[0]
        emit("login_n", ENUM_N)
        emit("login_first_p50_ms", f"{statistics.median(first):.2f}")
        emit("login_later_p50_ms", f"{statistics.median(later):.2f}")
        emit("login_both_ok", logged_in)
        emit("login_upgraded", upgraded)
        needs = conn.execute(
            "SELECT count(*) FROM farmreg.users AS u WHERE u.username = ANY (%s)"
            " AND u.password_hash NOT LIKE '$argon2id$v=19$m=' || (SELECT setting FROM pg_settings"
            "     WHERE name = 'farmreg.password_memlimit') || ',t='"
            "     || current_setting('farmreg.password_opslimit') || ',p=1$%%'",
            ([f"legacy{i}" for i in range(1, ENUM_N + 1)],)).fetchone()[0]
        emit("login_upgraded_not_current", needs)
        victim = f"legacy{ENUM_N + 1}"
        before = conn.execute("SELECT password_hash FROM farmreg.users WHERE username = %s",
                              (victim,)).fetchone()[0]
        _, uid = login_ms(conn, victim, "a wrong password, surely")
        after = conn.execute("SELECT password_hash FROM farmreg.users WHERE username = %s",
                             (victim,)).fetchone()[0]
        emit("wrong_password_left_hash", int(uid is None and before == after))

        # 2. enumeration with legacy users present
        enumeration(conn, "legacy", [f"legacy{i}" for i in range(ENUM_N + 2, 2 * ENUM_N + 2)])
        enumeration(conn, "legacy_upgraded", [f"legacy{i}" for i in range(1, ENUM_N + 1)])
        delete_users(conn)

    # 3. the same users with plaintext passwords, at the default costs
    elements = [dict(request(i), password=password(i, distinct)) for i in range(1, users + 1)]
    ms, ok_count, bad = import_batch(conn, elements)
    emit("import_plain_ms", f"{ms:.1f}")
    emit("import_plain_ok", ok_count)
    if bad:
        emit("import_plain_errors", " ".join(bad))

    known = [f"legacy{i}" for i in range(1, ENUM_N + 1)]
    enumeration(conn, "defaults", known)
    conn.execute("SET farmreg.password_opslimit = 4")
    enumeration(conn, "opslimit4", known)
    conn.execute("SET farmreg.password_memlimit = '46MB'")
    conn.execute("SET farmreg.password_opslimit = 1")
    enumeration(conn, "m46t1", known)
    conn.close()


if __name__ == "__main__":
    main()
