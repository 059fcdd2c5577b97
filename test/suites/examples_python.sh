#!/usr/bin/env bash
#
# test/suites/examples_python.sh -- examples/python/walkthrough.py (psycopg 3,
# Debian's python3-psycopg under /usr/bin/python3) against the test cluster,
# as a plain app role: register, read registration_result, render every field
# error, retry with an idempotency key after a dropped connection, verify a
# login.  Its output: $FARMREG_LOG_DIR/examples/python-walkthrough.out.
#
# deps: python3-psycopg

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$FARMREG_ROOT/scripts/lib.sh"
# shellcheck source=test/suites/examples-lib.bash
source "$FARMREG_ROOT/test/suites/examples-lib.bash"

examples_setup farmreg_examples_python examples_python_app || exit 0
check_app_role

out=$EX_OUT/python-walkthrough.out
rc=0
PGDATABASE=$EX_DB PGUSER=$EX_ROLE FARMREG_EXAMPLE_PASSWORD="$EX_MARKER-python-1" \
    timeout 120 /usr/bin/python3 examples/python/walkthrough.py USDA-10001 USDA-10002 \
    >"$out" 2>&1 || rc=$?
check "examples/python/walkthrough.py ran to the end (exit status $rc)" is "$rc" 0
[[ $rc -eq 0 ]] || tail -n 30 "$out" | diag
check_walkthrough "$out"
