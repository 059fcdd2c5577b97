#!/usr/bin/env bash
#
# fuzz/toolchain.sh -- print the clang that builds farmreg's fuzz targets
#
# Prints the path of a clang that can link a C program with
# -fsanitize=fuzzer,address,undefined (stdout: that path only, for
# $(shell ...) in fuzz/Makefile).  When there is none, installs Debian's
# clang and libclang-rt-14-dev (the libFuzzer and sanitizer runtimes) through
# ensure_deps from scripts/lib.sh, and tries again.
#
# Environment: FUZZ_CC=compiler to try first.  FARMREG_SKIP_DEPS=1 as for
# the rest of the harness (never install anything).

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# try_cc CC: true when CC links a sanitized libFuzzer program.
try_cc() {
    local cc=$1 dir rc=0
    command -v "$cc" >/dev/null 2>&1 || return 1
    dir=$(mktemp -d "${TMPDIR:-/tmp}/farmreg-toolchain.XXXXXX")
    printf '%s\n' \
        '#include <stddef.h>' \
        '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void) d; (void) n; return 0; }' \
        >"$dir/probe.c"
    "$cc" -fsanitize=fuzzer,address,undefined -o "$dir/probe" "$dir/probe.c" \
        >/dev/null 2>&1 || rc=1
    rm -rf -- "$dir"
    return "$rc"
}

# find_cc: print the first compiler that works.
find_cc() {
    local cc
    for cc in ${FUZZ_CC:-} clang-14 clang; do
        if try_cc "$cc"; then
            command -v "$cc"
            return 0
        fi
    done
    return 1
}

if find_cc; then
    exit 0
fi

# shellcheck source=scripts/lib.sh
source "$here/../scripts/lib.sh"
log "fuzz: no clang that links -fsanitize=fuzzer; installing clang and libclang-rt-14-dev"
# apt-get talks on stdout, which is reserved for the compiler's path.
ensure_deps clang libclang-rt-14-dev >&2
find_cc || die "fuzz: still no clang that links -fsanitize=fuzzer,address,undefined"
