#!/usr/bin/env bash
#
# test/suites/packaging.sh -- META.json (PGXN) and CHANGELOG.md agree with
# the extension
#
# deps: jq
#
# META.json must parse, be valid against the PGXN Meta Spec 1.0.x
# (test/ops/pgxn_meta_v1.jq, itself checked against a broken document), and
# describe this extension: name, distribution version = farmreg.control's
# default_version written as SemVer (PGXN versions are SemVer: '1.0' is
# '1.0.0'), provides.farmreg with that version and the install script the
# default version is built from, every file it names present, a runtime
# requirement on the PostgreSQL major the project builds for.  CHANGELOG.md must have a section
# for every version (of an install or an upgrade script).  So a new version
# fails here until META.json and CHANGELOG.md say so.
#
# Run: make test SUITES=packaging

# cleanup() runs from the EXIT trap (on_exit), which shellcheck cannot see.
# shellcheck disable=SC2317

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
# shellcheck source=test/ops/common.sh
source "$ROOT/test/ops/common.sh"
cd "$ROOT"

command -v jq >/dev/null 2>&1 || die "jq is not installed (Debian package jq)"
VALIDATOR=test/ops/pgxn_meta_v1.jq

# semver VERSION: an extension version as SemVer ('1.0' -> '1.0.0', '1' -> '1.0.0').
semver() {
    local v=$1
    case $v in
        *.*.*) printf '%s\n' "$v" ;;
        *.*) printf '%s.0\n' "$v" ;;
        *) printf '%s.0.0\n' "$v" ;;
    esac
}

DEFAULT_VERSION=$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" farmreg.control)
# shellcheck disable=SC2016  # $(EXTENSION) is for make
EXTENSION=$(printf 'farmreg-print-ext:\n\t@echo $(EXTENSION)\n' \
    | make --no-print-directory -s -f Makefile -f - PG_CONFIG="${PG_CONFIG:-pg_config}" farmreg-print-ext 2>/dev/null || true)
[[ -n $EXTENSION ]] || EXTENSION=farmreg

# ---------------------------------------------------------------------------
# META.json
# ---------------------------------------------------------------------------

if [[ ! -f META.json ]]; then
    not_ok "META.json exists"
    ops_summary
fi
if err=$(jq empty META.json 2>&1); then
    ok "META.json parses as JSON"
else
    not_ok "META.json parses as JSON"
    diag "$err"
    ops_summary
fi

# The validator must catch what it claims to (a negative control).
broken='{"name":"f","version":"1.0","maintainer":[],"license":"PostgreSQL License",
         "provides":{"farmreg":{"file":"/abs.sql"}},"meta-spec":{"version":"2.0.0"},
         "prereqs":{"runtime":{"requires":{"PostgreSQL":"~15"}}},"homepage":"x"}'
found=$(jq -r -f "$VALIDATOR" <<<"$broken" | wc -l)
if [[ $found -ge 10 ]]; then
    ok "the PGXN Meta Spec check rejects a broken document ($found problems found)"
else
    not_ok "the PGXN Meta Spec check rejects a broken document (found $found problems, want 10 or more)"
    jq -r -f "$VALIDATOR" <<<"$broken" | diag
fi

problems=$(jq -r -f "$VALIDATOR" META.json)
if [[ -z $problems ]]; then
    ok "META.json is valid against the PGXN Meta Spec $(jq -r '."meta-spec".version' META.json)"
else
    not_ok "META.json is valid against the PGXN Meta Spec 1.0.x"
    diag "$problems"
fi

is "$(jq -r .name META.json)" "$EXTENSION" "META.json name is the extension's ($EXTENSION)"
is "$(jq -r .version META.json)" "$(semver "$DEFAULT_VERSION")" \
   "META.json version is farmreg.control's default_version $DEFAULT_VERSION (as SemVer)"
is "$(jq -r --arg e "$EXTENSION" '.provides[$e].version // "missing"' META.json)" "$(semver "$DEFAULT_VERSION")" \
   "META.json provides.$EXTENSION.version is default_version $DEFAULT_VERSION (as SemVer)"
# provides.file: the default version's install script, or, when that
# version is built from an older install script plus upgrades, the newest
# install script at or below it.
# vmax A B: the later of two versions
vmax() { printf '%s\n%s\n' "$1" "$2" | sort -V | tail -n 1; }
base=""
for f in sql/"$EXTENSION"--*.sql; do
    v=${f#sql/"$EXTENSION"--}
    v=${v%.sql}
    [[ $v == *--* ]] && continue
    if [[ $(vmax "$v" "$DEFAULT_VERSION") == "$DEFAULT_VERSION" ]] && [[ -z $base || $(vmax "$v" "$base") == "$v" ]]; then
        base=$v
    fi
done
is "$(jq -r --arg e "$EXTENSION" '.provides[$e].file // "missing"' META.json)" "sql/$EXTENSION--$base.sql" \
   "META.json provides.$EXTENSION.file is the install script default_version $DEFAULT_VERSION is built from"

missing=()
while IFS= read -r f; do
    [[ -e $f ]] || missing+=("$f")
done < <(jq -r '.provides[] | .file, (.docfile // empty)' META.json)
if [[ ${#missing[@]} -eq 0 ]]; then
    ok "every file META.json names is in the repository"
else
    not_ok "every file META.json names is in the repository (missing: ${missing[*]})"
fi

pgreq=$(jq -r '.prereqs.runtime.requires.PostgreSQL // "missing"' META.json)
is "$pgreq" "$FARMREG_PG_MAJOR.0.0" "META.json requires PostgreSQL $FARMREG_PG_MAJOR.0.0 at runtime (the major scripts/lib.sh builds for)"
is "$(jq -r .license META.json)" postgresql "META.json license is postgresql"

# ---------------------------------------------------------------------------
# CHANGELOG.md
# ---------------------------------------------------------------------------

if [[ -f CHANGELOG.md ]]; then
    # every version: those with an install script and those an upgrade script leads to
    missing=()
    while IFS= read -r v; do
        grep -q -E "^##[[:space:]]+\[?v?${v//./\\.}\]?([[:space:]]|$)" CHANGELOG.md || missing+=("$v")
    done < <(for f in sql/"$EXTENSION"--*.sql; do
                 v=${f#sql/"$EXTENSION"--}
                 v=${v%.sql}
                 printf '%s\n' "${v#*--}"
             done | sort -u -V)
    if [[ ${#missing[@]} -eq 0 ]]; then
        ok "CHANGELOG.md has a section for every version (install and upgrade scripts)"
    else
        not_ok "CHANGELOG.md has a section ('## VERSION') for every version (missing: ${missing[*]})"
    fi
else
    not_ok "CHANGELOG.md exists"
fi

ops_summary
