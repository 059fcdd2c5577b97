#!/usr/bin/env bash
#
# test/suites/load.sh -- many clients registering at once, from small name
# and farm spaces, so that they collide all the time (pgbench).
#
# test/load/register.pgbench registers (usernames, emails and farms from a
# few hundred values; some calls keyed by their request, some under a key
# shared by unrelated requests, some naming a farm that does not exist),
# test/load/batch.pgbench registers three at a time (register_farm_admins)
# and test/load/churn.pgbench undoes a random registration with
# deregister_farm_admin, so the spaces never fill up.  Every result goes to
# farmreg_load.results.  Meanwhile one consumer (test/load/consume.pgbench)
# polls the outbox and acknowledges what it was given.
#
# Asserted: pgbench ran with no failed transaction and no aborted client (a
# registration never raises), the server logged no ERROR meanwhile (when its
# log is readable), collisions really happened, and afterwards: every user
# has exactly one farmer row and every farm exactly one, all is_admin, no
# farm claimed twice, every ok result names a registration that exists (or
# was deregistered) and every registration was reported ok to some call;
# one farm_admin_registered event per registration and none for anything
# else, one farm_admin_deregistered event per deregistration; the consumer
# was given every event exactly once, in position order, a user's
# registration before their deregistration.
#
# Runs in `make test` (short) and standalone against any server, e.g. for a
# longer benchmark:
#
#     PGHOST=... PGPORT=... PGUSER=... LOAD_SECONDS=120 LOAD_CLIENTS=8 test/suites/load.sh
#
# Environment:
#   LOAD_SECONDS=15     how long pgbench runs
#   LOAD_CLIENTS=4      concurrent clients (pgbench -c)
#   LOAD_JOBS           pgbench threads (default: min(clients, CPUs))
#   LOAD_USERS=300      size of the username / email space
#   LOAD_FARMS=200      USDA records (10% more farm ids are tried, which do not exist)
#   LOAD_CHURN=2        weight of churn.pgbench against register.pgbench's 8
#   LOAD_BATCH=1        weight of batch.pgbench (three requests a transaction)
#   LOAD_DB=farmreg_load  database (dropped and created; dropped at the end
#                       unless LOAD_KEEP_DB=1)
#   LOAD_CHEAP_HASH=1   argon2id at libsodium's minimum costs (needs a
#                       superuser); 0 keeps the server's settings
#
# The figures go to the log as "# ..." lines.

set -euo pipefail

ROOT=${FARMREG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
pg_resolve

LOAD_SECONDS=${LOAD_SECONDS:-15}
LOAD_CLIENTS=${LOAD_CLIENTS:-4}
ncpu=$(nproc 2>/dev/null || echo 2)
LOAD_JOBS=${LOAD_JOBS:-$((LOAD_CLIENTS < ncpu ? LOAD_CLIENTS : ncpu))}
LOAD_USERS=${LOAD_USERS:-300}
LOAD_FARMS=${LOAD_FARMS:-200}
LOAD_CHURN=${LOAD_CHURN:-2}
LOAD_BATCH=${LOAD_BATCH:-1}
LOAD_DB=${LOAD_DB:-farmreg_load}
LOAD_CHEAP_HASH=${LOAD_CHEAP_HASH:-1}

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/farmreg-load.XXXXXX")
cleanup() {
    if [[ ${LOAD_KEEP_DB:-0} != 1 ]]; then
        psql -X -q -d postgres -c "SET client_min_messages = warning" \
            -c "DROP DATABASE IF EXISTS $LOAD_DB" >/dev/null 2>&1 || true
    fi
    rm -rf -- "$SCRATCH"
}
on_exit cleanup

# Registrations are meant to be many and cheap here: hashing at libsodium's
# minimum costs (the costs of a real deployment are the bench's business).
if [[ $LOAD_CHEAP_HASH == 1 ]]; then
    export PGOPTIONS="${PGOPTIONS:-} -c farmreg.password_opslimit=1 -c farmreg.password_memlimit=8kB"
fi

Q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$LOAD_DB" "$@"; }

check() {   # check DESCRIPTION VALUE EXPECTED
    if [[ $2 == "$3" ]]; then
        printf 'ok - %s\n' "$1"
    else
        printf 'not ok - %s (got %s, expected %s)\n' "$1" "$2" "$3"
    fi
}

# --- setup -------------------------------------------------------------------

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" \
    -c "DROP DATABASE IF EXISTS $LOAD_DB" -c "CREATE DATABASE $LOAD_DB" >/dev/null
Q -v farms="$LOAD_FARMS" -f "$ROOT/test/load/setup.sql" >/dev/null
printf 'ok - load database %s ready (%s USDA records)\n' "$LOAD_DB" "$LOAD_FARMS"

# Where the server log stands now: only what the load writes is looked at.
log_from=0
if [[ -n ${FARMREG_SERVER_LOG:-} && -r ${FARMREG_SERVER_LOG:-} ]]; then
    log_from=$(stat -c %s "$FARMREG_SERVER_LOG")
fi

# --- the load ----------------------------------------------------------------

# The consumer runs beside the registrations, for the same time.
pgbench -n -M prepared -c 1 -j 1 -T "$LOAD_SECONDS" \
    -f "$ROOT/test/load/consume.pgbench" \
    "$LOAD_DB" >"$SCRATCH/consumer.out" 2>"$SCRATCH/consumer.err" &
consumer_pid=$!
set +e
pgbench -n -M prepared -c "$LOAD_CLIENTS" -j "$LOAD_JOBS" -T "$LOAD_SECONDS" \
    --failures-detailed \
    -D users="$LOAD_USERS" -D farms="$LOAD_FARMS" \
    -f "$ROOT/test/load/register.pgbench@8" -f "$ROOT/test/load/batch.pgbench@$LOAD_BATCH" \
    -f "$ROOT/test/load/churn.pgbench@$LOAD_CHURN" \
    "$LOAD_DB" >"$SCRATCH/pgbench.out" 2>"$SCRATCH/pgbench.err"
rc=$?
wait "$consumer_pid"
consumer_rc=$?
set -e
sed 's/^/# pgbench: /' "$SCRATCH/pgbench.out"
grep -v -E '^pgbench \(|^(starting vacuum|end\.)' "$SCRATCH/pgbench.err" | head -n 20 | sed 's/^/# pgbench stderr: /' || true

check "pgbench exit status" "$rc" 0
processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$SCRATCH/pgbench.out")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$SCRATCH/pgbench.out")
tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$SCRATCH/pgbench.out" | head -n 1)
check "pgbench reports its failed-transaction count" "${failed:+yes}" yes
check "no failed transaction (no registration raised)" "${failed:-missing}" 0
if grep -q -E 'aborted|ERROR' "$SCRATCH/pgbench.out" "$SCRATCH/pgbench.err"; then
    printf 'not ok - pgbench reported errors or aborted clients\n'
    grep -h -E 'aborted|ERROR' "$SCRATCH/pgbench.out" "$SCRATCH/pgbench.err" | head -n 10 | sed 's/^/#   /'
else
    printf 'ok - pgbench reported no error and no aborted client\n'
fi
if [[ ${processed:-0} -gt 0 ]]; then
    printf 'ok - pgbench processed %s transactions\n' "$processed"
else
    printf 'not ok - pgbench processed no transaction\n'
fi
polls=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$SCRATCH/consumer.out")
consumer_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$SCRATCH/consumer.out")
if [[ $consumer_rc -eq 0 && ${consumer_failed:-x} == 0 && ${polls:-0} -gt 0 ]]; then
    printf 'ok - the outbox consumer polled %s times beside the load, no failure\n' "$polls"
else
    printf 'not ok - the outbox consumer failed (exit status %s, %s failed of %s polls)\n' \
        "$consumer_rc" "${consumer_failed:-?}" "${polls:-?}"
    cat "$SCRATCH/consumer.out" "$SCRATCH/consumer.err" | head -n 20 | sed 's/^/#   /'
fi

if [[ -n ${FARMREG_SERVER_LOG:-} && -r ${FARMREG_SERVER_LOG:-} ]]; then
    tail -c +"$((log_from + 1))" "$FARMREG_SERVER_LOG" >"$SCRATCH/server.log"
    errors=$(grep -c -E '(ERROR|FATAL|PANIC):' "$SCRATCH/server.log" || true)
    check "the server logged no ERROR / FATAL during the load" "$errors" 0
    if [[ $errors -gt 0 ]]; then
        grep -E '(ERROR|FATAL|PANIC):' "$SCRATCH/server.log" | head -n 10 | sed 's/^/#   /'
    fi
    check "no password in the server log during the load" \
        "$(grep -c -F 'pw-SECRET' "$SCRATCH/server.log" || true)" 0
fi

# --- invariants ----------------------------------------------------------------

check "every user has exactly one farmer row" "$(Q -c "
    SELECT count(*) FROM farmreg.users AS u
     WHERE (SELECT count(*) FROM farmreg.farmers AS fr WHERE fr.user_id = u.id) <> 1")" 0
check "every farm has exactly one farmer row" "$(Q -c "
    SELECT count(*) FROM farmreg.farms AS f
     WHERE (SELECT count(*) FROM farmreg.farmers AS fr WHERE fr.farm_id = f.id) <> 1")" 0
check "every farmer row is an admin" "$(Q -c "
    SELECT count(*) FROM farmreg.farmers WHERE NOT is_admin")" 0
check "no USDA farm claimed twice" "$(Q -c "
    SELECT count(*) FROM (SELECT usda_farm_id FROM farmreg.farms
                           GROUP BY usda_farm_id HAVING count(*) > 1) AS twice")" 0
check "no farm without a USDA record" "$(Q -c "
    SELECT count(*) FROM farmreg.farms WHERE usda_farm_id IS NULL")" 0
check "every farm is named after its USDA record" "$(Q -c "
    SELECT count(*) FROM farmreg.farms AS f JOIN farmreg.usda_farms AS uf ON uf.id = f.usda_farm_id
     WHERE f.name <> uf.name")" 0
check "usernames and emails unique ignoring case" "$(Q -c "
    SELECT (SELECT count(*) - count(DISTINCT lower(username)) FROM farmreg.users)
         + (SELECT count(*) - count(DISTINCT lower(email)) FROM farmreg.users)")" 0
check "every idempotency key names an existing registration" "$(Q -c "
    SELECT count(*) FROM farmreg.idempotency_keys AS k
     WHERE NOT EXISTS (SELECT FROM farmreg.farmers AS fr
                        WHERE fr.id = k.farmer_id AND fr.user_id = k.user_id AND fr.farm_id = k.farm_id)")" 0
check "every ok result names a registration that exists or was deregistered" "$(Q -c "
    SELECT count(*) FROM farmreg_load.results AS r
     WHERE r.ok
       AND NOT EXISTS (SELECT FROM farmreg.farmers AS fr
                        WHERE fr.id = r.farmer_id AND fr.user_id = r.user_id AND fr.farm_id = r.farm_id)
       AND NOT EXISTS (SELECT FROM farmreg.events AS d
                        WHERE d.type = 'farm_admin_deregistered' AND d.user_id = r.user_id
                          AND (d.payload->>'farm_id')::bigint = r.farm_id)")" 0
check "every registration was reported ok to a caller" "$(Q -c "
    SELECT count(*) FROM (SELECT user_id FROM farmreg.farmers
                          UNION ALL SELECT user_id FROM farmreg.events
                                     WHERE type = 'farm_admin_deregistered') AS reg
     WHERE NOT EXISTS (SELECT FROM farmreg_load.results AS r WHERE r.ok AND r.user_id = reg.user_id)")" 0
check "results have the three ids exactly when ok" "$(Q -c "
    SELECT count(*) FROM farmreg_load.results
     WHERE ok <> (user_id IS NOT NULL AND farm_id IS NOT NULL AND farmer_id IS NOT NULL)")" 0
check "results have an error_code exactly when not ok" "$(Q -c "
    SELECT count(*) FROM farmreg_load.results WHERE ok = (error_code IS NOT NULL)")" 0
check "results have a failed_step exactly when not ok (ok results: NULL)" "$(Q -c "
    SELECT count(*) FROM farmreg_load.results WHERE ok = (failed_step IS NOT NULL)")" 0
check "no internal_error" "$(Q -c "
    SELECT count(*) FROM farmreg_load.results WHERE error_code = 'internal_error'")" 0

# --- the outbox ------------------------------------------------------------------

check "one farm_admin_registered event per registration reported ok" "$(Q -c "
    SELECT count(*) FROM (SELECT DISTINCT user_id FROM farmreg_load.results WHERE ok) AS r
     WHERE (SELECT count(*) FROM farmreg.events AS e
             WHERE e.type = 'farm_admin_registered' AND e.user_id = r.user_id) <> 1")" 0
check "no event for a registration no caller was told of" "$(Q -c "
    SELECT count(*) FROM farmreg.events AS e
     WHERE NOT EXISTS (SELECT FROM farmreg_load.results AS r WHERE r.ok AND r.user_id = e.user_id)")" 0
check "registration events carry the ids of the result" "$(Q -c "
    SELECT count(*) FROM (SELECT DISTINCT user_id, farm_id, farmer_id FROM farmreg_load.results
                           WHERE ok) AS r
      JOIN farmreg.events AS e ON e.type = 'farm_admin_registered' AND e.user_id = r.user_id
     WHERE (e.payload->>'farm_id')::bigint IS DISTINCT FROM r.farm_id
        OR (e.payload->>'farmer_id')::bigint IS DISTINCT FROM r.farmer_id
        OR (e.payload->>'user_id')::bigint IS DISTINCT FROM r.user_id")" 0
check "one farm_admin_deregistered event per deregistered user, whose rows are gone" "$(Q -c "
    SELECT count(*) FROM farmreg.events AS d
     WHERE d.type = 'farm_admin_deregistered'
       AND (EXISTS (SELECT FROM farmreg.users AS u WHERE u.id = d.user_id)
            OR EXISTS (SELECT FROM farmreg.farmers AS fr WHERE fr.user_id = d.user_id)
            OR (SELECT count(*) FROM farmreg.events AS o
                 WHERE o.type = d.type AND o.user_id = d.user_id) <> 1)")" 0
check "no event payload holds a password" "$(Q -c "
    SELECT count(*) FROM farmreg.events WHERE payload::text LIKE '%pw-SECRET%'")" 0

# The consumer catches up with what was committed at the end.
for _ in $(seq 1 200); do
    Q -f "$ROOT/test/load/consume.pgbench" >/dev/null
    [[ $(Q -c "SELECT count(*) FROM farmreg.events AS e
                WHERE NOT EXISTS (SELECT FROM farmreg_load.seen AS s WHERE s.id = e.id)") == 0 ]] && break
done
check "the consumer was given every committed event (none skipped)" "$(Q -c "
    SELECT count(*) FROM farmreg.events AS e
     WHERE NOT EXISTS (SELECT FROM farmreg_load.seen AS s WHERE s.id = e.id)")" 0
check "the consumer was given no event twice" "$(Q -c "
    SELECT count(*) - count(DISTINCT id) FROM farmreg_load.seen")" 0
check "the consumer was given events in position order" "$(Q -c "
    SELECT count(*) FROM (SELECT pos, lag(pos) OVER (ORDER BY n) AS before
                            FROM farmreg_load.seen) AS s
     WHERE s.pos <= s.before")" 0
check "a user's registration event came before their deregistration event" "$(Q -c "
    SELECT count(*) FROM farmreg_load.seen AS d
      JOIN farmreg_load.seen AS r ON r.user_id = d.user_id AND r.type = 'farm_admin_registered'
     WHERE d.type = 'farm_admin_deregistered' AND d.n < r.n")" 0

# --- figures -------------------------------------------------------------------

read -r calls ok_calls registrations replays races validation_collisions < <(Q -F ' ' -c "
    SELECT count(*), count(*) FILTER (WHERE ok),
           count(DISTINCT user_id) FILTER (WHERE ok),
           count(*) FILTER (WHERE ok) - count(DISTINCT user_id) FILTER (WHERE ok),
           count(*) FILTER (WHERE NOT ok AND failed_step <> 'validate'),
           count(*) FILTER (WHERE NOT ok AND failed_step = 'validate'
                              AND error_code IN ('username_taken', 'email_already_claimed',
                                                 'farm_already_claimed', 'idempotency_key_reused'))
      FROM farmreg_load.results")
churned=$(Q -c "SELECT count(*) FROM farmreg.events WHERE type = 'farm_admin_deregistered'")
read -r events delivered_live < <(Q -F ' ' -c "
    SELECT (SELECT count(*) FROM farmreg.events), ${polls:-0}")
batch_calls=$(Q -c "SELECT count(*) FROM farmreg_load.results WHERE kind > 100")

printf '# load: %s clients (%s threads), %s s, %s transactions, %s tps\n' \
    "$LOAD_CLIENTS" "$LOAD_JOBS" "$LOAD_SECONDS" "${processed:-?}" "${tps:-?}"
printf '# registration requests: %s (%s of them in batches of 3); ok: %s (%s registrations, %s stored results returned again); deregistered: %s\n' \
    "$calls" "$batch_calls" "$ok_calls" "$registrations" "$replays" "$churned"
printf '# outbox: %s events, delivered once each to a consumer that polled %s times during the load\n' \
    "$events" "$delivered_live"
printf '# collisions found by validation: %s; races lost inside a step: %s\n' \
    "$validation_collisions" "$races"
printf '# raised errors (failed transactions): %s\n' "${failed:-?}"
printf '# results by error_code / failed_step:\n'
Q -F ' ' -c "
    SELECT coalesce(error_code, '(ok)'), coalesce(failed_step, '-'), count(*)
      FROM farmreg_load.results GROUP BY 1, 2 ORDER BY 1, 2" |
    while read -r code step n; do
        printf '#   %-24s %-24s %8s\n' "$code" "$step" "$n"
    done

if [[ $validation_collisions -gt 0 ]]; then
    printf 'ok - collisions happened (%s found by validation)\n' "$validation_collisions"
else
    printf 'not ok - no collision found by validation: the spaces are too big for the load\n'
fi
if [[ $races -gt 0 ]]; then
    printf 'ok - races lost between check and insert happened (%s)\n' "$races"
else
    printf 'not ok - no race lost between check and insert: raise LOAD_CLIENTS or LOAD_SECONDS\n'
fi
