#!/usr/bin/env bash
#
# test/suites/examples_web.sh -- the sign-up form of examples/web/ in Debian's
# Chromium, driven by playwright-core (examples/web/test/browser-test.js): a
# taken email shows the catalog copy next to the email field in English and
# in Spanish, a valid registration shows the database's ids, a double submit
# registers once, an internal_error shows in a banner.  The server runs as a
# plain app role.  Screenshots and the server's log:
# $FARMREG_LOG_DIR/examples/web-*.png, web-server.log.
#
# deps: node:nodejs npm:npm chromium

set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$FARMREG_ROOT/scripts/lib.sh"
# shellcheck source=test/suites/examples-lib.bash
source "$FARMREG_ROOT/test/suites/examples-lib.bash"

if [[ ! -x /usr/bin/chromium ]]; then
    not_ok "Debian's chromium is installed (/usr/bin/chromium)"
    exit 0
fi
npm_ready examples/web || exit 0
examples_setup farmreg_examples_web examples_web_app || exit 0
check_app_role

rc=0
PGDATABASE=$EX_DB FARMREG_APP_ROLE=$EX_ROLE \
    timeout 180 node examples/web/test/browser-test.js || rc=$?
check "examples/web/test/browser-test.js ran to the end (exit status $rc)" [ "$rc" -eq 0 ]
