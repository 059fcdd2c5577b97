# shellcheck shell=bash
#
# test/ops/common.sh -- helpers for the operations suites
#
# Sourced by test/suites/{dump_restore,upgrade,pgbouncer,standby,packaging}.sh
# after scripts/lib.sh.  Those suites run under scripts/test.sh, which exports
# the test cluster's coordinates (PGHOST, PGPORT, PGUSER, ...); see
# test/suites/README.md.  Defines functions only.
#
#   ok DESC / not_ok DESC      one result line (not_ok counts a failure)
#   is GOT WANT DESC           ok when GOT equals WANT, else shows both
#   diag TEXT...               '# '-prefixed lines (stdin when no argument)
#   q DB [PSQL-ARGS...]        psql: unaligned, tuples only, stop on error
#   qv DB SQL                  one value (q with -c SQL)
#   ops_need_cluster           fail early when not run by scripts/test.sh
#   ops_scratch NAME           a scratch directory owned by the postgres user
#   ops_create_db DB           fresh empty database, cheap hashing in every session
#   ops_create_ext_db DB [VERSION]
#                              the same with CREATE EXTENSION farmreg [VERSION]
#   ops_drop_db DB             drop it (if it exists)
#   ops_has_function DB NAME   is farmreg.NAME there (feature detection)
#   ops_seed_farms DB PREFIX N usda_farms rows PREFIX-1 .. PREFIX-N
#   ops_register DB USER PW KEY UID [LOCALE]
#                              register USER (email USER@example.com); prints
#                              "ok|user_id|farm_id|farmer_id|error_code"
#   ops_fingerprint DB         one line per table of schema farmreg (row count
#                              and md5 of its rows) and per sequence (position)
#   ops_new_cluster DIR        initdb and start a second, empty cluster in DIR
#                              (socket in DIR); prints its port
#   ops_stop_cluster DIR       stop it (safe when it is not running)
#   ops_log_has_no_secret FILE WHAT
#                              ok when FILE has no string of test/log_forbidden.txt
#   ops_log_has_no_crash FILE WHAT
#   ops_summary                exit status: 0 (results are in the lines)

OPS_FAILED=0

ok()     { printf 'ok - %s\n' "$*"; }
not_ok() { printf 'not ok - %s\n' "$*"; OPS_FAILED=$((OPS_FAILED + 1)); }

diag() {
    if [[ $# -gt 0 ]]; then
        printf '%s\n' "$@" | sed 's/^/#   /'
    else
        sed 's/^/#   /'
    fi
}

is() {
    local got=$1 want=$2 desc=$3
    if [[ $got == "$want" ]]; then
        ok "$desc"
    else
        not_ok "$desc"
        diag "got:  $got" "want: $want"
    fi
}

q() {
    local db=$1
    shift
    PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
        psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" "$@"
}

qv() {
    q "$1" -c "$2"
}

ops_need_cluster() {
    [[ -n ${PGHOST:-} && -n ${PGPORT:-} && -n ${FARMREG_CLUSTER_DIR:-} ]] \
        || die "run this suite through scripts/test.sh (make test SUITES=$(basename "$0" .sh))"
    cd "$FARMREG_ROOT" || die "cannot cd to $FARMREG_ROOT"
}

# ops_scratch NAME: a fresh directory inside the test cluster's private
# directory (removed with the cluster), owned by the postgres OS user when we
# are root so that pgbouncer, pg_basebackup and pg_ctl may write there.
ops_scratch() {
    local d
    d=$(mktemp -d "$FARMREG_CLUSTER_DIR/$1.XXXXXX")
    chmod 0755 "$d"
    if is_root; then
        chown postgres: "$d"
    fi
    printf '%s\n' "$d"
}

# ops_create_db DB: a new, empty database where every session gets
# libsodium's cheapest hashing (farmreg.password_* are superuser-only GUCs;
# a superuser may set them on a database or a role).
ops_create_db() {
    local db=$1
    ops_drop_db "$db"
    qv postgres "CREATE DATABASE $db" >/dev/null
    q postgres >/dev/null <<SQL
ALTER DATABASE $db SET farmreg.password_opslimit = 1;
ALTER DATABASE $db SET farmreg.password_memlimit = '8kB';
SQL
}

# ops_create_ext_db DB [VERSION]: the same with farmreg installed (at
# VERSION, or the control file's default_version).
ops_create_ext_db() {
    local db=$1 version=${2:-}
    ops_create_db "$db"
    if [[ -n $version ]]; then
        qv "$db" "CREATE EXTENSION farmreg VERSION '$version'" >/dev/null
    else
        qv "$db" "CREATE EXTENSION farmreg" >/dev/null
    fi
}

ops_drop_db() {
    psql -X -q -v ON_ERROR_STOP=1 -d postgres \
        -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1 || true
}

ops_has_function() {
    [[ $(qv "$1" "SELECT count(*) FROM pg_proc WHERE pronamespace = 'farmreg'::regnamespace AND proname = '$2'") -gt 0 ]]
}

ops_seed_farms() {
    local db=$1 prefix=$2 n=$3
    q "$db" -v prefix="$prefix" -v n="$n" >/dev/null <<'SQL'
INSERT INTO farmreg.usda_farms (usda_uid, name, address)
SELECT :'prefix' || '-' || g, 'Farm ' || :'prefix' || ' ' || g,
       CASE WHEN g % 3 = 0 THEN NULL ELSE g || ' County Road' END
  FROM generate_series(1, :n) AS g;
SQL
}

# ops_register DB USER PASSWORD KEY USDA_UID [LOCALE]: KEY '' means no key.
# The password travels as a psql variable, so it is a literal in the
# statement; that is fine for calls that return a result (statements are
# logged only when they fail), and none of these fail.
ops_register() {
    local db=$1 user=$2 pw=$3 key=$4 uid=$5 locale=${6:-}
    q "$db" -v u="$user" -v pw="$pw" -v k="$key" -v uid="$uid" -v loc="$locale" <<'SQL'
SELECT concat_ws('|', ok, coalesce(user_id::text, ''), coalesce(farm_id::text, ''),
                 coalesce(farmer_id::text, ''), coalesce(error_code, ''))
  FROM farmreg.register_farm_admin(:'u', :'pw', 'Farmer ' || :'u', :'u' || '@example.com',
                                   :'uid', NULLIF(:'k', ''), NULLIF(:'loc', ''));
SQL
}

# ops_fingerprint DB: what the data of schema farmreg looks like, one line
# per table (rows, md5 of the sorted rows) and per sequence (position).  Two
# databases with equal fingerprints hold the same data.
ops_fingerprint() {
    q "$1" <<'SQL'
SELECT pg_catalog.format(
         $f$SELECT 'table %1$s: ' || count(*) || ' rows, md5 '
                   || COALESCE(md5(string_agg(t::text, E'\n' ORDER BY t::text COLLATE "C")), '-')
              FROM farmreg.%1$I AS t$f$, c.relname)
  FROM pg_catalog.pg_class AS c
 WHERE c.relnamespace = 'farmreg'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY c.relname COLLATE "C"
\gexec
SELECT pg_catalog.format(
         $f$SELECT 'sequence %1$s: last_value ' || last_value || ', is_called ' || is_called
              FROM farmreg.%1$I$f$, c.relname)
  FROM pg_catalog.pg_class AS c
 WHERE c.relnamespace = 'farmreg'::regnamespace AND c.relkind = 'S'
 ORDER BY c.relname COLLATE "C"
\gexec
SQL
}

# ops_new_cluster DIR: a second cluster, as scripts/lib.sh makes the test
# cluster (trust auth, UTF8, C.UTF-8, a unix socket in DIR only); DIR must
# be writable by the postgres OS user when we are root (ops_scratch).  Prints
# the port.  Its log is DIR/server.log.
ops_new_cluster() {
    local dir=$1 port _attempt user
    if is_root; then user=postgres; else user=$(id -un); fi
    (cd "$dir" && as_pg "$PGBIN/initdb" --pgdata="$dir/data" --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 --username="$user" --no-instructions) >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    printf "listen_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\n" "$dir" \
        | as_pg tee -a "$dir/data/postgresql.conf" >/dev/null
    for _attempt in 1 2 3; do
        port=$(free_port)
        if (cd "$dir" && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "-p $port" \
                -w -t 60 -s start) >/dev/null 2>&1; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    return 1
}

ops_stop_cluster() {
    local dir=$1
    [[ -f $dir/data/postmaster.pid ]] || return 0
    (cd "$dir" && as_pg "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 -s stop) >/dev/null 2>&1 || true
}

# ops_log_has_no_secret FILE WHAT: the marker strings of
# test/log_forbidden.txt (the harness's list) must not be in FILE.
ops_log_has_no_secret() {
    local file=$1 what=$2 s hits bad=0 n=0
    if [[ ! -r $file ]]; then
        not_ok "$what: log $file is readable"
        return 0
    fi
    while IFS= read -r s || [[ -n $s ]]; do
        s=${s%$'\r'}
        [[ -z $s || $s == \#* ]] && continue
        n=$((n + 1))
        hits=$(grep -c -F -e "$s" "$file" || true)
        if [[ $hits -gt 0 ]]; then
            bad=$((bad + 1))
            diag "forbidden string '$s' on $hits line(s) of $file, e.g.:"
            grep -n -F -e "$s" "$file" | head -n 3 | diag
        fi
    done <"$FARMREG_ROOT/test/log_forbidden.txt"
    if [[ $n -eq 0 ]]; then
        not_ok "$what: test/log_forbidden.txt lists no string to look for"
    elif [[ $bad -eq 0 ]]; then
        ok "$what: log holds none of the $n forbidden strings (test passwords)"
    else
        not_ok "$what: log holds $bad of the $n forbidden strings"
    fi
}

ops_log_has_no_crash() {
    local file=$1 what=$2
    local re='terminated by signal|PANIC:|^TRAP:|was terminated by exception'
    if grep -q -E "$re" "$file"; then
        not_ok "$what: no crash in the log"
        grep -n -E "$re" "$file" | head -n 5 | diag
    else
        ok "$what: no crash in the log"
    fi
}

ops_summary() {
    if [[ $OPS_FAILED -gt 0 ]]; then
        log "$(basename "$0" .sh): $OPS_FAILED check(s) failed"
    fi
    exit 0
}
