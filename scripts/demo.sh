#!/usr/bin/env bash
#
# scripts/demo.sh -- what `make demo` runs
#
# Builds and installs farmreg, starts a private throw-away cluster, creates a
# database with the extension and runs demo/demo.sql in it with psql, then
# stops the cluster.  KEEP_CLUSTER=1 leaves the cluster running afterwards
# (it prints how to connect), to keep playing with the demo database.

set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FARMREG_ROOT"

DEMO_DB=farmreg_demo
DEMO_SQL=demo/demo.sql

[[ -f $DEMO_SQL ]] || die "$DEMO_SQL not found"

# shellcheck disable=SC2119  # no extra packages
ensure_deps
install_extension || die "build or install failed"
cluster_start demo

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DEMO_DB"
psql -X -q -v ON_ERROR_STOP=1 -d "$DEMO_DB" -c 'CREATE EXTENSION farmreg'

printf '\n==== %s ====\n' "$DEMO_SQL"
psql -X -v ON_ERROR_STOP=1 -q -d "$DEMO_DB" -f "$DEMO_SQL" </dev/null

if [[ ${KEEP_CLUSTER:-0} == 1 ]]; then
    log "demo database: $DEMO_DB"
fi
cluster_stop
