#!/usr/bin/env bash
#
# test/suites/examples_node.sh -- examples/node/walkthrough.js (node-postgres,
# pinned in examples/node/package-lock.json) against the test cluster, as a
# plain app role: the same steps and checks as examples_python.  Its output:
# $FARMREG_LOG_DIR/examples/node-walkthrough.out.
#
# deps: node:nodejs npm:npm

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$FARMREG_ROOT/scripts/lib.sh"
# shellcheck source=test/suites/examples-lib.bash
source "$FARMREG_ROOT/test/suites/examples-lib.bash"

npm_ready examples/node || exit 0
examples_setup farmreg_examples_node examples_node_app || exit 0
check_app_role

out=$EX_OUT/node-walkthrough.out
rc=0
PGDATABASE=$EX_DB PGUSER=$EX_ROLE FARMREG_EXAMPLE_PASSWORD="$EX_MARKER-node-1" \
    timeout 120 node examples/node/walkthrough.js USDA-10001 USDA-10002 \
    >"$out" 2>&1 || rc=$?
check "examples/node/walkthrough.js ran to the end (exit status $rc)" is "$rc" 0
[[ $rc -eq 0 ]] || tail -n 30 "$out" | diag
check_walkthrough "$out"
