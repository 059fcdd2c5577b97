# shellcheck shell=bash
#
# test/suites/examples-lib.bash -- shared by the suites examples_python.sh,
# examples_node.sh and examples_web.sh (sourced; not a suite itself: only
# executable *.sh files are).
#
#   examples_setup DB ROLE    a fresh database DB with farmreg, the made-up
#                             USDA farms of examples/setup.sql, and ROLE: a
#                             LOGIN role with nothing but the README's grants
#                             (EXECUTE on register_farm_admin and
#                             verify_password), hashing made cheap for it
#   check_app_role            ROLE is no superuser and has only those grants
#   npm_ready DIR             node_modules in DIR, from `npm ci` when missing
#                             or older than package-lock.json (Node.js 18+:
#                             Debian 12's, or the machine's own)
#   check_walkthrough OUT     the output of a walkthrough (Python or Node: the
#                             same lines) against the database and catalog
#   check_no_secret FILE      FILE holds no test password (pw-SECRET marker)
#
# Output goes to $FARMREG_LOG_DIR/examples/ (EX_OUT).

EX_OUT=${FARMREG_LOG_DIR:-$FARMREG_ROOT/log}/examples
mkdir -p "$EX_OUT"
EX_MARKER=pw-SECRET

ok()     { printf 'ok - %s\n' "$*"; }
not_ok() { printf 'not ok - %s\n' "$*"; }
diag()   { sed 's/^/#   /'; }

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds.  Returns 0 either
# way (the suites run under set -e).
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is GOT WANT: GOT equals WANT and is not empty.
is() {
    [[ -n $1 && $1 == "$2" ]]
}

# q SQL: one value (or rows, |-separated) from EX_DB, as the operator.
q() {
    psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$EX_DB" -c "$1"
}

examples_setup() {
    EX_DB=$1
    EX_ROLE=$2
    if ! {
        psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS \"$EX_DB\"" \
            -c "CREATE DATABASE \"$EX_DB\"" &&
        psql -X -q -v ON_ERROR_STOP=1 -d "$EX_DB" -v app_role="$EX_ROLE" -f examples/setup.sql &&
        # The hashing costs are superuser-only settings: the operator lowers
        # them for the test's app role (never do this in production).
        psql -X -q -v ON_ERROR_STOP=1 -d "$EX_DB" \
            -c "ALTER ROLE \"$EX_ROLE\" SET farmreg.password_opslimit = 1" \
            -c "ALTER ROLE \"$EX_ROLE\" SET farmreg.password_memlimit = '8kB'"
    } >"$EX_OUT/setup-$EX_DB.log" 2>&1; then
        not_ok "set up database $EX_DB and role $EX_ROLE"
        diag <"$EX_OUT/setup-$EX_DB.log"
        return 1
    fi
    ok "database $EX_DB: farmreg, $(q 'SELECT count(*) FROM farmreg.usda_farms') USDA farms, app role $EX_ROLE"
}

check_app_role() {
    local r
    r=$(q "SELECT NOT rolsuper AND NOT rolcreatedb AND NOT rolcreaterole AND NOT rolbypassrls AND rolcanlogin
             FROM pg_roles WHERE rolname = '$EX_ROLE'")
    check "role $EX_ROLE is a plain LOGIN role (no superuser, createdb, createrole, bypassrls)" is "$r" t
    r=$(q "SELECT has_function_privilege('$EX_ROLE', 'farmreg.register_farm_admin(text,text,text,text,text,text,text)', 'EXECUTE')
              AND has_function_privilege('$EX_ROLE', 'farmreg.verify_password(text,text)', 'EXECUTE')
              AND NOT has_function_privilege('$EX_ROLE', 'farmreg.purge_idempotency_keys(interval)', 'EXECUTE')
              AND NOT EXISTS (SELECT 1 FROM pg_class c
                               WHERE c.relnamespace = 'farmreg'::regnamespace AND c.relkind IN ('r', 'S')
                                 AND has_table_privilege('$EX_ROLE', c.oid, 'SELECT, INSERT, UPDATE, DELETE'))")
    check "role $EX_ROLE may execute register_farm_admin and verify_password, and read or write no farmreg table" is "$r" t
}

npm_ready() {
    local dir=$1 name
    name=$(basename "$dir")
    # test.sh installed Debian's nodejs and npm when they were missing
    # (the suites' "deps: node:nodejs npm:npm"); Debian 12 ships Node.js 18,
    # which is what the lockfiles are pinned for.
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        not_ok "node and npm are on PATH"
        return 1
    fi
    if [[ $(node -p 'process.versions.node.split(".")[0] >= 18') != true ]]; then
        not_ok "Node.js 18 or later (found $(node --version))"
        return 1
    fi
    if [[ -f $dir/node_modules/.package-lock.json && $dir/node_modules/.package-lock.json -nt $dir/package-lock.json ]]; then
        ok "$dir/node_modules is up to date with package-lock.json (Node.js $(node --version))"
        return 0
    fi
    # From npm's cache when it has the packages; from the registry otherwise.
    if (cd "$dir" && timeout 300 npm ci --prefer-offline --no-audit --no-fund) \
            >"$EX_OUT/npm-ci-$name.log" 2>&1; then
        ok "npm ci in $dir with Node.js $(node --version) and npm $(npm --version) ($(grep -o 'added [0-9]* packages' "$EX_OUT/npm-ci-$name.log" || echo 'up to date'))"
    else
        not_ok "npm ci in $dir"
        tail -n 20 "$EX_OUT/npm-ci-$name.log" | diag
        return 1
    fi
}

check_no_secret() {
    # shellcheck disable=SC2016  # $1 and $2 are bash -c's own arguments
    check "$2 contains no password" bash -c '! grep -q -F -e "$1" "$2"' _ "$EX_MARKER" "$1"
}

# ids_of USERNAME: "user_id farm_id farmer_id" of a registration in EX_DB.
ids_of() {
    q "SELECT u.id || ' ' || fm.farm_id || ' ' || fm.id FROM farmreg.users u
         JOIN farmreg.farmers fm ON fm.user_id = u.id AND fm.is_admin
        WHERE u.username = '$1'"
}

# printed_ids OUT PREFIX: "user_id farm_id farmer_id" from the line starting with PREFIX.
printed_ids() {
    { grep -m1 -F -e "$2" "$1" || true; } | sed -n 's/.*user_id=\([0-9]*\) farm_id=\([0-9]*\) farmer_id=\([0-9]*\).*/\1 \2 \3/p'
}

check_walkthrough() {
    local out=$1 maria sam sam_uid printed bad n

    # 1. a registration, and the same request with its key again
    maria=$(ids_of maria.lopez)
    printed=$(printed_ids "$out" 'registered: ')
    check "registered maria.lopez; the printed ids are the database's ($printed)" is "$printed" "$maria"
    check "the same request with the same idempotency key answers the same ids" \
        grep -q -F 'same request, same idempotency key: user_id='"${maria%% *}"' ' "$out"

    # 2. every rendered error is the catalog's copy for its code and locale
    awk '
        /^every field wrong \(locale / { loc = $5; sub(/\):?$/, "", loc); next }
        /^already taken/               { loc = "en"; next }
        /^== 3/                        { exit }
        loc != "" && match($0, /^  (\[banner\]|username|password|name|email|usda_uid) +/) {
            rest = substr($0, RLENGTH + 1)
            if (match(rest, / \([a-z_]+\)$/)) {
                printf "%s\t%s\t%s\n", loc, substr(rest, RSTART + 2, RLENGTH - 3), substr(rest, 1, RSTART - 1)
            }
        }' "$out" >"$EX_OUT/$(basename "$out" .out).errors.tsv"
    n=$(wc -l <"$EX_OUT/$(basename "$out" .out).errors.tsv")
    bad=$({
        printf 'CREATE TEMP TABLE shown (locale text, code text, message text);\nCOPY shown FROM STDIN;\n'
        cat "$EX_OUT/$(basename "$out" .out).errors.tsv"
        printf '\\.\n'
        printf "SELECT locale || ' ' || code || ': ' || message FROM shown
                 WHERE message IS DISTINCT FROM farmreg.error_message(code, locale);\n"
    } | psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$EX_DB" 2>&1 || true)
    check "all $n rendered field errors (6 en, 6 es-MX, 3 database checks) are error_message(code, locale)" \
        is "$n:$bad" "15:"
    [[ -z $bad ]] || printf '%s\n' "$bad" | diag
    check "the database checks report username_taken, email_already_claimed, farm_already_claimed" \
        is "$(awk -F'\t' 'NR > 12 { print $2 }' "$EX_OUT/$(basename "$out" .out).errors.tsv" | paste -sd,)" \
          username_taken,email_already_claimed,farm_already_claimed

    # 3. the lost answer and the retry
    sam=$(ids_of sam.green)
    sam_uid=${sam%% *}
    printed=$(printed_ids "$out" 'retried: ')
    check "the first attempt lost its answer on a dropped connection" grep -q '^attempt 1: no answer: ' "$out"
    check "the retry with the same key answers the registration the lost attempt committed ($printed)" \
        is "$printed" "$sam"
    check "a second retry answers the same ids" grep -q -F "retried again: user_id=${sam%% *} " "$out"
    check "sam.green was registered once, with one idempotency key" \
        is "$(q "SELECT (SELECT count(*) FROM farmreg.users WHERE email = 'sam@sunnyside.example')
                  || ' ' || (SELECT count(*) FROM farmreg.idempotency_keys WHERE user_id = ${sam_uid:-0})")" "1 1"
    check "without the key the retry would have been rejected as taken" \
        grep -q -F 'the same retry without the key: username_taken, email_already_claimed, farm_already_claimed' "$out"

    # 4. logins
    check "verify_password finds maria.lopez by username and by email in another case" \
        is "$(grep -c -E "^login (username|email in another case), right password: user_id=${maria%% *}\$" "$out")" 2
    check "a wrong password and an unknown login match no one" \
        is "$(grep -c -E '^login (username, wrong password|unknown login): no match$' "$out")" 2

    # the operator's cheap hashing for the app role was in force
    check "the app role's hashing costs applied (argon2id m=8,t=1)" \
        is "$(q "SELECT password_hash LIKE '\$argon2id\$v=19\$m=8,t=1,p=1\$%' FROM farmreg.users WHERE username = 'maria.lopez'")" t
    check_no_secret "$out" "the walkthrough's output"
}
