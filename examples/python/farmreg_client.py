"""farmreg_client -- calling farmreg from Python with psycopg 3.

The whole client side of a registration is small: one parameterised
SELECT of farmreg.register_farm_admin(...), and reading its
farmreg.registration_result row.  The function never raises for a
rejected registration; it answers with a row:

    ok boolean, user_id bigint, farm_id bigint, farmer_id bigint,
    error_code text, failed_step text, message text, errors jsonb

`errors` is a JSON array of {"field", "code", "message"} objects (plus
"sqlstate" for internal_error), in form order, with the copy already in the
asked locale: an app shows each entry's message next to its field.

Connections use libpq's standard environment (PGHOST, PGPORT, PGDATABASE,
PGUSER, PGPASSWORD, PGSSLMODE, ...): psycopg.connect("") reads them.
Passwords are passed as query parameters only, and never printed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import psycopg

# Columns named one by one (not SELECT *): the contract may add columns at
# the end of registration_result, and this code keeps working when it does.
REGISTER_SQL = """
    SELECT ok, user_id, farm_id, farmer_id, error_code, failed_step, message, errors
      FROM farmreg.register_farm_admin(%(username)s, %(password)s, %(name)s, %(email)s,
                                       %(usda_uid)s, %(idempotency_key)s, %(locale)s)
"""

VERIFY_SQL = "SELECT farmreg.verify_password(%s, %s)"

# The form's fields, in the order the function reports errors.
FIELDS = ("username", "password", "name", "email", "usda_uid", "idempotency_key")


@dataclass(frozen=True)
class FieldError:
    field: str          # a form field, see FIELDS
    code: str           # a stable code, e.g. "email_already_claimed"
    message: str        # catalog copy in the asked locale
    sqlstate: str | None = None     # only for internal_error


@dataclass(frozen=True)
class Registration:
    ok: bool
    user_id: int | None = None
    farm_id: int | None = None
    farmer_id: int | None = None
    error_code: str | None = None
    failed_step: str | None = None      # "validate", "create_user", ...
    message: str | None = None
    errors: list[FieldError] = field(default_factory=list)

    def errors_by_field(self) -> dict[str, list[FieldError]]:
        out: dict[str, list[FieldError]] = {}
        for e in self.errors:
            out.setdefault(e.field, []).append(e)
        return out


def _registration(row: tuple) -> Registration:
    ok, user_id, farm_id, farmer_id, error_code, failed_step, message, errors = row
    return Registration(
        ok=ok, user_id=user_id, farm_id=farm_id, farmer_id=farmer_id,
        error_code=error_code, failed_step=failed_step, message=message,
        # psycopg turns jsonb into Python lists and dicts by itself
        errors=[FieldError(e["field"], e["code"], e["message"], e.get("sqlstate"))
                for e in (errors or [])])


def register(conn: psycopg.Connection, *, username, password, name, email, usda_uid,
             idempotency_key=None, locale=None) -> Registration:
    """One registration attempt on `conn`.

    A rejected registration is a Registration with ok=False, not an
    exception; exceptions mean the call itself failed (connection lost,
    statement_timeout, no privilege, ...).
    """
    with conn.cursor() as cur:
        cur.execute(REGISTER_SQL, dict(
            username=username, password=password, name=name, email=email,
            usda_uid=usda_uid, idempotency_key=idempotency_key, locale=locale))
        row = cur.fetchone()
    if not conn.autocommit:
        conn.commit()
    return _registration(row)


# Errors after which it is safe to send the same request again *when it
# carries an idempotency key*: the connection broke (we cannot know whether
# the registration committed), or the server gave up on the transaction.
RETRYABLE_SQLSTATES = {"40001", "40P01", "57P01", "57P02", "57P03"}


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, psycopg.OperationalError):
        return True     # includes "server closed the connection unexpectedly"
    return getattr(exc, "sqlstate", None) in RETRYABLE_SQLSTATES


def register_with_retry(connect: Callable[[], psycopg.Connection], request: dict,
                        *, attempts: int = 3, backoff: float = 0.2,
                        on_retry: Callable[[int, Exception], None] | None = None,
                        conn: psycopg.Connection | None = None):
    """Register with retries; returns (Registration, connection).

    `request` must hold an idempotency_key: that is what makes a retry safe.
    If the first attempt did commit but its answer was lost, the retry gets
    the stored result (the same ids) instead of "username_taken".  Each
    retry uses a new connection from `connect`.
    """
    if not request.get("idempotency_key"):
        raise ValueError("retrying a registration needs an idempotency_key")
    for attempt in range(1, attempts + 1):
        try:
            if conn is None or conn.closed:
                conn = connect()
            return register(conn, **request), conn
        except Exception as exc:   # noqa: BLE001 -- filtered just below
            if not _retryable(exc) or attempt == attempts:
                raise
            if on_retry:
                on_retry(attempt, exc)
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(backoff * attempt)
    raise AssertionError("unreachable")


def verify_login(conn: psycopg.Connection, login: str, password: str) -> int | None:
    """The user's id when `login` (username or email, any case) and
    `password` match, else None."""
    with conn.cursor() as cur:
        cur.execute(VERIFY_SQL, (login, password))
        (user_id,) = cur.fetchone()
    if not conn.autocommit:
        conn.commit()
    return user_id


def render_errors(reg: Registration, indent: str = "  ") -> str:
    """The errors as a form would show them: each under its field, in field
    order.  Errors that belong to no input (idempotency_key, and
    internal_error, whose field is null) come first, as a banner."""
    inputs = FIELDS[:-1]
    lines = [f"{indent}[banner]  {e.message} ({e.code})"
             for e in reg.errors if e.field not in inputs]
    by_field = reg.errors_by_field()
    for f in inputs:
        for e in by_field.get(f, []):
            lines.append(f"{indent}{f:<9} {e.message} ({e.code})")
    return "\n".join(lines)
