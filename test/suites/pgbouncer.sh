#!/usr/bin/env bash
#
# test/suites/pgbouncer.sh -- registrations through pgbouncer in transaction
# pooling mode
#
# deps: pgbouncer
#
# pgbouncer listens on 127.0.0.1 (a free port) with md5 authentication from a
# userlist file, pool_mode = transaction and a pool of 3 server connections,
# in front of the test cluster's unix socket.  The application role is a
# non-superuser with only the two documented grants; cheap hashing is set on
# the role by a superuser (ALTER ROLE ... SET: applied by the server when a
# pooled connection starts, so it survives pooling, unlike a SET).
#
# pgbench runs a custom script with 8 clients: per transaction of the script
# a registration with the locale argument 'es', a rejected one whose message
# must be the Spanish copy, an idempotent retry that must return the same
# ids, and verify_password.  Every statement autocommits, so under
# transaction pooling consecutive statements of one client may run on
# different server connections: nothing may depend on session state.  A
# statement whose result is wrong raises an error (a failing cast that
# names the problem), which pgbench counts as a failed client.  Each such
# ELSE branch reads the function's result: one made of parameters alone
# would be folded to a constant, and so raised, when the unnamed statement
# is planned with its parameter values.
#
# Protocol: -M extended (Parse/Bind/Execute with the unnamed statement).  The
# password goes as a bind parameter, never into the statement text, which is
# how real drivers call.  -M prepared is not used: pgbouncer 1.18 does not
# track named prepared statements: pgbench's P_0 prepared by one client
# clashes with another client's on a shared server connection ("prepared
# statement "P_0" already exists") or is missing on the next one ("does not
# exist"); pgbouncer 1.21 added max_prepared_statements for that.
#
# Run: make test SUITES=pgbouncer

# cleanup() runs from the EXIT trap (on_exit), which shellcheck cannot see.
# shellcheck disable=SC2317

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$ROOT/test/ops/common.sh"
ops_need_cluster

DB=fr_pool
APP=fr_pool_app
APP_LOGIN_PASSWORD=app-login-not-a-farmreg-password
CLIENTS=8
TXNS=15
POOL_SIZE=3
PGBOUNCER=$(PATH="$PATH:/usr/sbin:/sbin" command -v pgbouncer) || die "pgbouncer is not installed (Debian package pgbouncer)"
WORK=$(ops_scratch pgbouncer)
PGB_PID=""

cleanup() {
    local i
    # keep the log for a look afterwards (log/ in the repository)
    [[ -z ${FARMREG_LOG_DIR:-} || ! -f $WORK/pgbouncer.log ]] || cp -- "$WORK/pgbouncer.log" "$FARMREG_LOG_DIR/pgbouncer.log" || true
    if [[ -n $PGB_PID ]] && kill -0 "$PGB_PID" 2>/dev/null; then
        kill -TERM "$PGB_PID" 2>/dev/null || true
        for ((i = 0; i < 50; i++)); do
            kill -0 "$PGB_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$PGB_PID" 2>/dev/null || true
    fi
    ops_drop_db "$DB"
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $APP" >/dev/null 2>&1 || true
    rm -rf -- "$WORK"
}
on_exit cleanup

# ---------------------------------------------------------------------------
# Database and application role
# ---------------------------------------------------------------------------

ops_create_ext_db "$DB"
ops_seed_farms "$DB" POOL $((CLIENTS * TXNS))
q "$DB" >/dev/null <<SQL
DROP ROLE IF EXISTS $APP;
CREATE ROLE $APP LOGIN;
GRANT EXECUTE ON FUNCTION farmreg.register_farm_admin(text, text, text, text, text, text, text),
                          farmreg.verify_password(text, text)
   TO $APP;
ALTER ROLE $APP SET farmreg.password_opslimit = 1;
ALTER ROLE $APP SET farmreg.password_memlimit = '8kB';
SQL

# ---------------------------------------------------------------------------
# pgbouncer
# ---------------------------------------------------------------------------

printf '"%s" "md5%s"\n' "$APP" "$(printf '%s%s' "$APP_LOGIN_PASSWORD" "$APP" | md5sum | cut -d' ' -f1)" \
    >"$WORK/userlist.txt"
if is_root; then
    chown postgres: "$WORK/userlist.txt"
fi
chmod 0600 "$WORK/userlist.txt"

# write_ini PORT: pgbouncer's configuration for a listener on PORT.
write_ini() {
    PORT=$1
    cat >"$WORK/pgbouncer.ini" <<EOF
[databases]
$DB = host=$PGHOST port=$PGPORT dbname=$DB

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = md5
auth_file = $WORK/userlist.txt
pool_mode = transaction
default_pool_size = $POOL_SIZE
max_client_conn = 100
logfile = $WORK/pgbouncer.log
pidfile = $WORK/pgbouncer.pid
stats_users = $APP
EOF
    if is_root; then
        chown postgres: "$WORK/pgbouncer.ini"
    fi
}

# pgbouncer refuses to run as root: as_pg runs it as the postgres OS user.
# free_port draws from outside the ephemeral range, but another program may
# still take the port first: then pgbouncer cannot bind, and we try another.
started=0
for attempt in 1 2 3; do
    write_ini "$(free_port)"
    rm -f "$WORK/pgbouncer.pid"
    if (cd "$WORK" && as_pg "$PGBOUNCER" -d -q "$WORK/pgbouncer.ini") 2>/dev/null; then
        for ((i = 0; i < 100; i++)); do
            [[ -s $WORK/pgbouncer.pid ]] && break
            sleep 0.1
        done
        if [[ -s $WORK/pgbouncer.pid ]]; then
            started=1
            break
        fi
    fi
    printf '# pgbouncer did not start on port %s (attempt %d):\n' "$PORT" "$attempt"
    tail -n 3 "$WORK/pgbouncer.log" 2>/dev/null | diag
done
if [[ $started -eq 0 ]]; then
    not_ok "pgbouncer starts"
    tail -n 20 "$WORK/pgbouncer.log" 2>/dev/null | diag
    ops_summary
fi
PGB_PID=$(cat "$WORK/pgbouncer.pid" 2>/dev/null || true)

export PGPASSWORD=$APP_LOGIN_PASSWORD
via_pgb() {
    psql -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$APP" "$@"
}
up=0
for ((i = 0; i < 100; i++)); do
    if via_pgb -d "$DB" -c "SELECT 1" >/dev/null 2>&1; then
        up=1
        break
    fi
    sleep 0.1
done
if [[ $up -eq 1 ]]; then
    ok "pgbouncer $("$PGBOUNCER" --version | head -n 1 | awk '{print $2}') listens on 127.0.0.1:$PORT (pid $PGB_PID), md5 auth, transaction pooling"
else
    not_ok "pgbouncer accepts connections on 127.0.0.1:$PORT"
    tail -n 20 "$WORK/pgbouncer.log" | diag
    ops_summary
fi
is "$(via_pgb -d pgbouncer -c "SHOW POOLS" -F'|' | awk -F'|' -v db="$DB" '$1 == db {print $NF}')" transaction \
   "SHOW POOLS: the $DB pool runs in transaction mode"

# ---------------------------------------------------------------------------
# pgbench through pgbouncer
# ---------------------------------------------------------------------------

# :client_id is pgbench's (0-based), :i counts this client's transactions;
# usernames, emails, USDA ids and keys are unique per (client, i).
cat >"$WORK/register.sql" <<'EOF'
\set i :i + 1
\set farm :client_id * :txns + :i
SELECT (CASE WHEN r.ok AND r.message IS NULL AND r.errors = '[]'
             THEN r.user_id::text
             ELSE 'registration failed: ' || r::text END)::bigint AS uid
  FROM farmreg.register_farm_admin(
         format('pool_%s_%s', :client_id::int, :i::int), :pw::text, 'Pool Farmer',
         format('pool_%s_%s@example.com', :client_id::int, :i::int),
         format('POOL-%s', :farm::int), format('pool-key-%s-%s', :client_id::int, :i::int),
         :loc::text) AS r
\gset
SELECT CASE WHEN NOT r.ok AND r.error_code = 'email_invalid' AND r.failed_step = 'validate'
             AND r.message = farmreg.error_message('email_invalid', :loc::text)
             AND r.message <> farmreg.error_message('email_invalid', 'en')
            THEN 'ok'
            ELSE ('wrong result for a rejected registration: ' || r::text)::int::text END
  FROM farmreg.register_farm_admin(
         format('poolx_%s_%s', :client_id::int, :i::int), :pw::text, 'Pool Farmer',
         'not-an-email', format('POOL-%s', :farm::int), NULL, :loc::text) AS r;
SELECT CASE WHEN r.ok AND r.user_id = :uid::bigint
            THEN 'ok'
            ELSE ('idempotent retry did not replay: ' || r::text)::int::text END
  FROM farmreg.register_farm_admin(
         format('pool_%s_%s', :client_id::int, :i::int), :pw::text, 'Pool Farmer',
         format('pool_%s_%s@example.com', :client_id::int, :i::int),
         format('POOL-%s', :farm::int), format('pool-key-%s-%s', :client_id::int, :i::int),
         :loc::text) AS r;
SELECT CASE WHEN v.id = :uid::bigint
            THEN 'ok'
            ELSE ('verify_password gave ' || coalesce(v.id::text, 'null') || ' for user ' || :uid::text)::int::text END
  FROM (SELECT farmreg.verify_password(format('POOL_%s_%s@EXAMPLE.COM', :client_id::int, :i::int), :pw::text) AS id) AS v;
EOF

rc=0
pgbench -n -M extended -h 127.0.0.1 -p "$PORT" -U "$APP" \
    -c "$CLIENTS" -j 2 -t "$TXNS" -f "$WORK/register.sql" \
    -D i=0 -D txns="$TXNS" -D pw=pw-SECRET-pool-1234 -D loc=es \
    "$DB" >"$WORK/pgbench.out" 2>&1 || rc=$?
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\)\/\([0-9]*\).*/\1\/\2/p' "$WORK/pgbench.out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/pgbench.out")
want=$((CLIENTS * TXNS))
if [[ $rc -eq 0 && $processed == "$want/$want" && ${failed:-0} == 0 ]] \
    && ! grep -q -E 'aborted|ERROR' "$WORK/pgbench.out"; then
    ok "pgbench -M extended, $CLIENTS clients x $TXNS transactions (x 4 calls) through pgbouncer: $processed processed, 0 failed ($(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$WORK/pgbench.out" | head -n 1) tps)"
else
    not_ok "pgbench through pgbouncer: every transaction processed, 0 failed (exit $rc, processed ${processed:-?}, failed ${failed:-?})"
    grep -E 'aborted|ERROR|error|processed|failed' "$WORK/pgbench.out" | head -n 15 | diag
fi

# ---------------------------------------------------------------------------
# The database afterwards
# ---------------------------------------------------------------------------

is "$(qv "$DB" "SELECT count(*) FROM farmreg.users u
                  JOIN farmreg.farmers f ON f.user_id = u.id AND f.is_admin
                  JOIN farmreg.farms fm ON fm.id = f.farm_id
                  JOIN farmreg.usda_farms uf ON uf.id = fm.usda_farm_id AND fm.name = uf.name
                 WHERE u.username LIKE 'pool\\_%'")" "$want" \
   "the database holds $want registrations (user, admin farmer, farm named after its USDA record)"
is "$(qv "$DB" "SELECT count(*) FROM farmreg.idempotency_keys WHERE key LIKE 'pool-key-%'")" "$want" \
   "one idempotency key per registration, none duplicated by the retries"
is "$(qv "$DB" "SELECT count(*) FROM farmreg.users WHERE username LIKE 'poolx%'")" 0 \
   "rejected registrations wrote nothing"
is "$(qv "$DB" "SELECT count(DISTINCT split_part(password_hash, '\$', 4)) || ' ' || min(split_part(password_hash, '\$', 4))
                  FROM farmreg.users")" '1 m=8,t=1,p=1' \
   "hashing parameters came from ALTER ROLE ... SET (opslimit 1, memlimit 8 kB) on every pooled connection"
servers=$(qv "$DB" "SELECT count(*) FROM pg_stat_activity WHERE usename = '$APP'")
if [[ $servers -ge 1 && $servers -le $POOL_SIZE ]]; then
    ok "$CLIENTS clients were served by $servers server connection(s) (pool size $POOL_SIZE)"
else
    not_ok "$CLIENTS clients were served by at most $POOL_SIZE server connections (saw $servers)"
fi

# The app role has nothing but the two functions (and error_message).
err=$(via_pgb -d "$DB" -c "SELECT count(*) FROM farmreg.users" 2>&1 >/dev/null || true)
if [[ $err == *"permission denied"* ]]; then
    ok "the app role cannot read farmreg.users directly"
else
    not_ok "the app role cannot read farmreg.users directly"
    diag "$err"
fi

# ---------------------------------------------------------------------------
# Logs
# ---------------------------------------------------------------------------

SHOW_STATS=$(via_pgb -d pgbouncer -c "SHOW STATS" -F'|' | awk -F'|' -v db="$DB" '$1 == db')
diag "SHOW STATS $SHOW_STATS"
ops_log_has_no_secret "$WORK/pgbouncer.log" "pgbouncer log"
if grep -q -E ' (ERROR|FATAL) ' "$WORK/pgbouncer.log"; then
    not_ok "pgbouncer log has no ERROR"
    grep -E ' (ERROR|FATAL) ' "$WORK/pgbouncer.log" | head -n 5 | diag
else
    ok "pgbouncer log has no ERROR"
fi

ops_summary
