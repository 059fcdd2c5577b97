#!/usr/bin/env bash
#
# test/suites/budget.sh -- the hashing budget: at most
# farmreg.max_concurrent_hashes password computations at once, per database
# (cluster-wide when farmreg is in shared_preload_libraries).  A request over
# budget waits up to farmreg.hash_wait, then:
#   register_farm_admin(s) -> ok = false, try_again_later, failed_step
#                             hash_password, nothing written, the caller's
#                             transaction usable;
#   verify_password        -> SQLSTATE 53000 with a hint, never NULL.
#
# No timing is asserted: a slow hash (high argon2 costs for that session
# alone) holds the budget, and the test waits until pg_locks shows its slot
# held (locktype userlock, classid 1718773095, objid 2000 + slot) before it
# asks for another.  Needs nothing beyond the base packages.
#

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$FARMREG_ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$FARMREG_ROOT/test/ops/common.sh"
ops_need_cluster

DB=fr_budget
DB2=fr_budget_other
WORK=$(ops_scratch budget)
PRE_DIR=$WORK/preloaded
PIDS=()

cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    ops_stop_cluster "$PRE_DIR"
    ops_drop_db "$DB"
    ops_drop_db "$DB2"
    rm -rf -- "$WORK"
}
on_exit cleanup

for d in "$DB" "$DB2"; do
    ops_create_ext_db "$d"
    ops_seed_farms "$d" B 100
    qv postgres "ALTER DATABASE $d SET farmreg.max_concurrent_hashes = 1" >/dev/null
done

# A slow registration in the background: argon2 at 256 MB and 6 passes
# (about two seconds here), holding its place in the budget meanwhile.
# slow DB USER [SETTINGS...]: prints its result to $WORK/slow-USER.out
slow() {
    local db=$1 user=$2
    shift 2
    {
        printf 'SET farmreg.password_opslimit = 6;\n'
        printf "SET farmreg.password_memlimit = '256MB';\n"
        printf '%s;\n' "$@"
        printf "SELECT ok FROM farmreg.register_farm_admin('%s', 'pw-SECRET-budget-1', 'Slow',
                '%s@example.com', 'B-%d');\n" "$user" "$user" "$((10 + ${#PIDS[@]}))"
    } | q "$db" >"$WORK/slow-$user.out" 2>&1 &
    PIDS+=($!)
}

# held DB N: wait until N budget slots of DB's scope are held.
held() {
    local db=$1 n=$2 scope_db=${3:-$1} i got=0
    for ((i = 0; i < 200; i++)); do
        got=$(qv "$db" "SELECT count(*) FROM pg_locks
                         WHERE locktype = 'userlock' AND classid = 1718773095
                           AND objid BETWEEN 2000 AND 2999 AND granted
                           AND database = CASE WHEN '$scope_db' = 'cluster' THEN 0
                                               ELSE (SELECT oid FROM pg_database WHERE datname = '$scope_db') END")
        [[ $got -ge $n ]] && return 0
        sleep 0.05
    done
    return 1
}

# answer DB SQL...: the statements with hash_wait 50 ms; prints the last
# statement's result, or the error's SQLSTATE and hint.
answer() {
    local db=$1
    shift
    { printf "SET farmreg.hash_wait = '50ms';\n\\set VERBOSITY verbose\n"; printf '%s;\n' "$@"; } \
        | PGOPTIONS="-c farmreg.password_opslimit=1 -c farmreg.password_memlimit=8kB" \
            psql -X -q -A -t -d "$db" 2>&1 |
        sed -n -e '/^ERROR:  /{s/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p;d;}' \
               -e '/^HINT:  /{s/^HINT:  /hint: /p;d;}' -e '/^[A-Z]*:  /d' -e p
}

users() { qv "$1" "SELECT count(*) FROM farmreg.users"; }

# ---------------------------------------------------------------------------

is "$(q "$DB" -c "LOAD 'farmreg'" -c "SHOW farmreg.hash_budget_scope")" database \
   "without shared_preload_libraries the budget is per database (farmreg.hash_budget_scope)"

slow "$DB" slowpoke
if held "$DB" 1; then
    ok "a slow registration holds the budget's only place"
else
    not_ok "a slow registration holds the budget's only place (no slot seen in pg_locks)"
fi
before=$(users "$DB")

is "$(answer "$DB" "SELECT ok || ' ' || error_code || ' ' || failed_step || ' ' || (errors->0->'field')::text
                      || ' ' || jsonb_array_length(errors) || ' ' || (message = farmreg.error_message('try_again_later'))::text
                     FROM farmreg.register_farm_admin('quick', 'pw-SECRET-budget-2', 'Quick', 'quick@example.com', 'B-50')")" \
   "false try_again_later hash_password null 1 true" \
   "over budget, register_farm_admin answers try_again_later at hash_password (no field, with copy)"
is "$(answer "$DB" "SELECT string_agg(ordinal || ':' || error_code, ',' ORDER BY ordinal)
                     FROM farmreg.register_farm_admins('[
                       {\"username\": \"qaa\", \"password\": \"pw-SECRET-budget-3\", \"name\": \"A\", \"email\": \"qa@example.com\", \"usda_uid\": \"B-51\"},
                       {\"username\": \"qbb\", \"password\": \"pw-SECRET-budget-4\", \"name\": \"B\", \"email\": \"qb@example.com\", \"usda_uid\": \"B-52\"},
                       {\"username\": \"\", \"password\": \"pw-SECRET-budget-5\", \"name\": \"C\", \"email\": \"qc@example.com\", \"usda_uid\": \"B-53\"}]')")" \
   "1:try_again_later,2:try_again_later,3:username_blank" \
   "so do the requests of a batch that need a hash (a rejected one is rejected as usual)"
is "$(answer "$DB" "BEGIN" \
       "SELECT error_code FROM farmreg.register_farm_admin('quick', 'pw-SECRET-budget-2', 'Quick', 'quick@example.com', 'B-50')" \
       "SELECT 'still usable' FROM farmreg.usda_farms LIMIT 1" "COMMIT" | paste -sd' ')" \
   "try_again_later still usable" \
   "the caller's transaction stays usable after try_again_later"
is "$(users "$DB")" "$before" "nothing was written for the requests over budget"
is "$(answer "$DB" "SELECT farmreg.verify_password('slowpoke', 'pw-SECRET-budget-1')" | paste -sd' ')" \
   "53000 hint: Retry the login in a moment." \
   "over budget, verify_password raises SQLSTATE 53000 with a hint to retry, never NULL"
is "$(answer "$DB2" "SELECT ok FROM farmreg.register_farm_admin('elsewhere', 'pw-SECRET-budget-6', 'E', 'e@example.com', 'B-60')")" \
   t "another database has a budget of its own"

# a request that may wait long enough gets the place once the slow one is done
is "$(PGOPTIONS="-c farmreg.password_opslimit=1 -c farmreg.password_memlimit=8kB -c farmreg.hash_wait=60s" \
        qv "$DB" "SELECT ok FROM farmreg.register_farm_admin('patient', 'pw-SECRET-budget-7', 'P', 'p@example.com', 'B-61')")" \
   t "with a long enough farmreg.hash_wait, a request waits for the place and registers"
wait "${PIDS[0]}" || true
is "$(tr -d '[:space:]' <"$WORK/slow-slowpoke.out")" t "the slow registration itself went through"

# two places: two slow ones hold both, a third is over budget
slow "$DB" slow2a "SET farmreg.max_concurrent_hashes = 2"
slow "$DB" slow2b "SET farmreg.max_concurrent_hashes = 2"
if held "$DB" 2; then
    is "$(answer "$DB" "SET farmreg.max_concurrent_hashes = 2" \
           "SELECT error_code FROM farmreg.register_farm_admin('third', 'pw-SECRET-budget-8', 'T', 't@example.com', 'B-62')")" \
       try_again_later "with farmreg.max_concurrent_hashes = 2, two computations run and a third is over budget"
else
    not_ok "two slow registrations hold two places"
fi
wait "${PIDS[1]}" "${PIDS[2]}" || true

# ---------------------------------------------------------------------------
# Preloaded: one budget for the whole cluster
# ---------------------------------------------------------------------------

mkdir -p "$PRE_DIR"
is_root && chown postgres: "$PRE_DIR"
if PRE_PORT=$(ops_new_cluster "$PRE_DIR") &&
    printf "shared_preload_libraries = 'farmreg'\n" | as_pg tee -a "$PRE_DIR/data/postgresql.conf" >/dev/null &&
    (cd "$PRE_DIR" && as_pg "$PGBIN/pg_ctl" -D "$PRE_DIR/data" -l "$PRE_DIR/server.log" -w -t 60 -s \
        restart) >/dev/null 2>&1; then
    export PGHOST=$PRE_DIR PGPORT=$PRE_PORT
    for d in pre_a pre_b; do
        ops_create_ext_db "$d"
        ops_seed_farms "$d" B 100
        qv postgres "ALTER DATABASE $d SET farmreg.max_concurrent_hashes = 1" >/dev/null
    done
    is "$(q pre_a -c "LOAD 'farmreg'" -c "SHOW farmreg.hash_budget_scope")" cluster \
       "in shared_preload_libraries the budget is cluster-wide (farmreg.hash_budget_scope)"
    slow pre_a slowpre
    if held pre_a 1 cluster; then
        is "$(answer pre_b "SELECT error_code FROM farmreg.register_farm_admin('otherdb', 'pw-SECRET-budget-9', 'O', 'o@example.com', 'B-70')")" \
           try_again_later "a computation in one database takes the place of every other database"
    else
        not_ok "a slow registration in a preloaded cluster holds the cluster's place"
    fi
    wait "${PIDS[3]}" || true
    ops_log_has_no_crash "$PRE_DIR/server.log" "the preloaded cluster's log"
else
    not_ok "a second cluster with shared_preload_libraries = 'farmreg' starts"
fi

ops_summary
