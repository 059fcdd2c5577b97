#!/usr/bin/env bash
#
# scripts/test-fresh.sh -- what `make test-fresh` runs: `make demo` and
# `make test` on a minimal Debian 12 that has nothing else installed
#
# The development and CI machines come with tools the project never installed
# (Node.js, compilers, Python packages), so a green `make test` there can hide
# a missing install step.  This script checks the README's promise for real:
#
#   1. a Debian 12 root made by `debootstrap --variant=minbase bookworm`,
#      cached outside the repository and rebuilt when older than a day
#      (FARMREG_FRESH_CACHE, default /var/cache/farmreg/test-fresh);
#   2. a throw-away copy of it for this run (an overlay on the cached root,
#      or a full copy where overlayfs is not available), so the cache stays
#      pristine and every run starts from the same fresh machine;
#   3. a clean clone of the current commit (HEAD: uncommitted changes are
#      not part of it) in /work/farmreg inside;
#   4. /proc, /sys, a private /dev (tmpfs with the usual device nodes,
#      devpts, /dev/shm), a standard /etc/hosts, and the network's settings
#      from the host: resolv.conf and the local certificate authorities in
#      /usr/local/share/ca-certificates (nothing else of the host's);
#   5. inside, as root: `apt-get install make` (the one package needed to
#      type `make`), then `make demo`, then `make test`;
#   6. the logs copied out to log/fresh/ (FARMREG_LOG_DIR/fresh), with the
#      list of packages the fresh root had to install;
#   7. on any exit, the run's processes killed and everything unmounted
#      before the copy is removed (a trap).
#
# The last line is `fresh: N passed, N failed`: the inner `make test`'s
# counts plus one check each for the set-up and `make demo`.  Needs root and
# the Debian mirror; nothing else.  Not run as root, it says so and exits 1.
#
# Environment:
#   FARMREG_FRESH_CACHE=dir      where the cached root lives
#   FARMREG_FRESH_MIRROR=url     Debian mirror (default http://deb.debian.org/debian)
#   FARMREG_FRESH_MAX_AGE=min    rebuild the cached root when older (1440)
#   FARMREG_FRESH_TIMEOUT=sec    limit for the inner run (3600)
#   KEEP_FRESH=1                 keep this run's root (unmounted) for a look

set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FARMREG_ROOT"

FRESH_SUITE=bookworm
FRESH_CACHE=${FARMREG_FRESH_CACHE:-/var/cache/farmreg/test-fresh}
FRESH_MIRROR=${FARMREG_FRESH_MIRROR:-http://deb.debian.org/debian}
FRESH_SECURITY=${FARMREG_FRESH_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
FRESH_MAX_AGE=${FARMREG_FRESH_MAX_AGE:-1440}
FRESH_TIMEOUT=${FARMREG_FRESH_TIMEOUT:-3600}
OUT_DIR=${FARMREG_LOG_DIR:-$FARMREG_ROOT/log}/fresh
INNER_DIR=/work/farmreg

PASS=0
FAIL=0
WORK=""             # this run's directory: upper/, work/, root/
ROOT=""             # the fresh machine's / as seen from here
MOUNTED=()          # what we mounted, in order
FINISHED=0
COMPLETE=0          # set when main got to its end

ok()     { printf 'ok - %s\n' "$*"; PASS=$((PASS + 1)); }
not_ok() { printf 'not ok - %s\n' "$*"; FAIL=$((FAIL + 1)); }

# The closing line, also when something failed half way.
finish() {
    [[ $FINISHED -eq 0 ]] || return 0
    FINISHED=1
    [[ $COMPLETE -eq 1 ]] || not_ok "make test-fresh stopped before the end (see the messages above)"
    printf 'fresh: %d passed, %d failed\n' "$PASS" "$FAIL"
}

if ! is_root; then
    printf 'make test-fresh must run as root: it builds a Debian root with debootstrap,\n' >&2
    printf 'mounts /proc, /sys and a /dev into it and runs the tests there with chroot.\n' >&2
    exit 1
fi

# seconds_since START: whole seconds elapsed.
seconds_since() { echo $(($(date +%s) - $1)); }

# ---------------------------------------------------------------------------
# The cached root
# ---------------------------------------------------------------------------

# write_etc DIR: what the Debian installer writes and debootstrap does not:
# the full set of sources (with updates and security) and /etc/hosts.
write_etc() {
    local dir=$1
    rm -f -- "$dir/etc/apt/sources.list"
    cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $FRESH_MIRROR
Suites: $FRESH_SUITE $FRESH_SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $FRESH_SECURITY
Suites: $FRESH_SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    cat >"$dir/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
    printf 'farmreg-fresh\n' >"$dir/etc/hostname"
}

# cached_root: print the path of a cached root younger than FRESH_MAX_AGE
# minutes, building it first when there is none.  One builder at a time.
cached_root() {
    local root=$FRESH_CACHE/root stamp=$FRESH_CACHE/root.built start
    mkdir -p "$FRESH_CACHE"
    exec 9>"$FRESH_CACHE/lock"
    flock 9

    if [[ -f $stamp && -d $root && -z $(find "$stamp" -mmin +"$FRESH_MAX_AGE") ]]; then
        log "fresh: reusing the cached root $root (built $(cat "$stamp"))"
    else
        command -v debootstrap >/dev/null 2>&1 || ensure_packages debootstrap
        log "fresh: building a minimal Debian $FRESH_SUITE root in $root (debootstrap --variant=minbase)"
        start=$(date +%s)
        rm -rf -- "$root.new"
        if ! debootstrap --variant=minbase "$FRESH_SUITE" "$root.new" "$FRESH_MIRROR" \
                >"$FRESH_CACHE/debootstrap.log" 2>&1; then
            tail -n 20 "$FRESH_CACHE/debootstrap.log" >&2
            rm -rf -- "$root.new"
            return 1
        fi
        write_etc "$root.new"
        rm -rf -- "$root" "$stamp"
        mv -- "$root.new" "$root"
        date -u '+%Y-%m-%d %H:%M:%S UTC' >"$stamp"
        log "fresh: root built in $(seconds_since "$start") s"
    fi
    exec 9>&-
    printf '%s\n' "$root"
}

# ensure_packages PKG...: host packages this script itself needs.
ensure_packages() {
    {
        DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    } </dev/null >&2
}

# ---------------------------------------------------------------------------
# This run's machine
# ---------------------------------------------------------------------------

mount_at() {
    local target=$1
    shift
    mount "$@" "$target"
    MOUNTED+=("$target")
}

# make_dev DIR: a private /dev, so nothing done inside (or a removal of the
# run's directory) can touch the host's device nodes.
make_dev() {
    local dev=$1
    mount_at "$dev" -t tmpfs -o mode=0755,nosuid,size=64k devtmp
    mknod -m 0666 "$dev/null" c 1 3
    mknod -m 0666 "$dev/zero" c 1 5
    mknod -m 0666 "$dev/full" c 1 7
    mknod -m 0666 "$dev/random" c 1 8
    mknod -m 0666 "$dev/urandom" c 1 9
    mknod -m 0666 "$dev/tty" c 5 0
    mkdir -p "$dev/pts" "$dev/shm"
    mount_at "$dev/pts" -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts
    ln -s pts/ptmx "$dev/ptmx"
    mount_at "$dev/shm" -t tmpfs -o mode=1777,nosuid,nodev shm
    ln -s /proc/self/fd "$dev/fd"
    ln -s /proc/self/fd/0 "$dev/stdin"
    ln -s /proc/self/fd/1 "$dev/stdout"
    ln -s /proc/self/fd/2 "$dev/stderr"
}

# prepare_root CACHED: this run's root in WORK/root.
prepare_root() {
    local cached=$1
    WORK=$(mktemp -d /var/tmp/farmreg-fresh.XXXXXX)
    ROOT=$WORK/root
    mkdir -p "$WORK/upper" "$WORK/work" "$ROOT"
    if mount -t overlay overlay \
            -o "lowerdir=$cached,upperdir=$WORK/upper,workdir=$WORK/work" "$ROOT" 2>/dev/null; then
        MOUNTED+=("$ROOT")
    else
        log "fresh: no overlayfs here; copying the cached root instead"
        cp -a -- "$cached/." "$ROOT/"
    fi
    mount_at "$ROOT/proc" -t proc proc
    mount_at "$ROOT/sys" -t sysfs -o ro sysfs
    make_dev "$ROOT/dev"
    # The network's settings, as any machine on it is given them: the name
    # server, and the local certificate authorities that this network's
    # HTTPS traffic is signed by (ca-certificates picks them up when a
    # package pulls it in, as it does on the host).
    cp -- /etc/resolv.conf "$ROOT/etc/resolv.conf"
    if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
        mkdir -p "$ROOT/usr/local/share/ca-certificates"
        cp -- /usr/local/share/ca-certificates/*.crt "$ROOT/usr/local/share/ca-certificates/"
    fi

    # A clean clone of the current commit, as CI takes it.
    mkdir -p "$ROOT$(dirname "$INNER_DIR")"
    git clone --quiet --no-hardlinks "$FARMREG_ROOT" "$ROOT$INNER_DIR"
    git -C "$ROOT$INNER_DIR" checkout --quiet "$(git -C "$FARMREG_ROOT" rev-parse HEAD)"
}

# kill_inside: every process whose root is this run's root.
kill_inside() {
    local p r found=0
    [[ -n $ROOT ]] || return 0
    for p in /proc/[0-9]*; do
        r=$(readlink "$p/root" 2>/dev/null) || continue
        if [[ $r == "$ROOT" ]]; then
            kill -9 "${p#/proc/}" 2>/dev/null && found=1
        fi
    done
    [[ $found -eq 0 ]] || sleep 1
}

# mounted_under DIR: true while anything is mounted at or below DIR.
mounted_under() {
    awk -v d="$1" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' \
        /proc/self/mountinfo
}

cleanup() {
    local i
    [[ -n $WORK ]] || return 0
    kill_inside
    for ((i = ${#MOUNTED[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTED[i]}" 2>/dev/null || umount -l "${MOUNTED[i]}" 2>/dev/null \
            || warn "could not unmount ${MOUNTED[i]}"
    done
    MOUNTED=()
    if mounted_under "$WORK"; then
        warn "something is still mounted under $WORK: leaving it in place"
    elif [[ ${KEEP_FRESH:-0} == 1 ]]; then
        log "KEEP_FRESH=1: this run's root stays in $WORK (overlay upper layer in $WORK/upper)"
    else
        rm -rf -- "$WORK"
    fi
    WORK=""
}

# inside CMD: run a bash command line in the fresh root, as root, with a
# fresh machine's environment (no PATH, tool or setting from this one).
inside() {
    chroot "$ROOT" /usr/bin/env -i \
        HOME=/root USER=root LOGNAME=root SHELL=/bin/bash TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        CI=true DEBIAN_FRONTEND=noninteractive \
        /bin/bash -c "$1" </dev/null
}

# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

main() {
    local cached start t_all rc line inner_pass=0 inner_fail=0 t_demo t_test
    t_all=$(date +%s)
    trap 'cleanup; finish' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$OUT_DIR"
    rm -rf -- "${OUT_DIR:?}"/*

    start=$(date +%s)
    if ! cached=$(cached_root); then
        not_ok "a minimal Debian $FRESH_SUITE root from debootstrap (see $FRESH_CACHE/debootstrap.log)"
        exit 1
    fi
    prepare_root "$cached"
    inside 'dpkg-query -W -f="\${Package}\n" | sort' >"$OUT_DIR/packages-before.txt"
    # `make` itself is the one thing a person needs before typing `make`.
    if inside 'apt-get update -qq && apt-get install -y -qq --no-install-recommends make' \
            >"$OUT_DIR/install-make.log" 2>&1; then
        ok "fresh Debian $FRESH_SUITE root ready in $(seconds_since "$start") s ($(wc -l <"$OUT_DIR/packages-before.txt") packages; make installed)"
    else
        tail -n 20 "$OUT_DIR/install-make.log" | sed 's/^/#   /'
        not_ok "fresh Debian $FRESH_SUITE root with make (see $OUT_DIR/install-make.log)"
        exit 1
    fi

    printf '\n==== fresh root: make demo ====\n'
    start=$(date +%s)
    rc=0
    inside "cd $INNER_DIR && timeout $FRESH_TIMEOUT make demo" >"$OUT_DIR/demo.log" 2>&1 || rc=$?
    t_demo=$(seconds_since "$start")
    if [[ $rc -eq 0 ]]; then
        ok "make demo in the fresh root ran to the end in $t_demo s"
    else
        tail -n 30 "$OUT_DIR/demo.log" | sed 's/^/#   /'
        not_ok "make demo in the fresh root (exit status $rc; see $OUT_DIR/demo.log)"
    fi

    printf '\n==== fresh root: make test ====\n'
    start=$(date +%s)
    rc=0
    set +e
    inside "cd $INNER_DIR && timeout $FRESH_TIMEOUT make test" 2>&1 | tee "$OUT_DIR/test.log"
    rc=${PIPESTATUS[0]}
    set -e
    t_test=$(seconds_since "$start")
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$OUT_DIR/test.log" | tail -n 1 || true)
    if [[ -n $line ]]; then
        read -r inner_pass _ inner_fail _ <<<"$line"
    else
        printf 'not ok - make test in the fresh root printed no summary (exit status %d)\n' "$rc"
        inner_fail=1
    fi
    if [[ $rc -ne 0 && $inner_fail -eq 0 ]]; then
        printf 'not ok - make test in the fresh root exited with status %d\n' "$rc"
        inner_fail=1
    fi
    PASS=$((PASS + inner_pass))
    FAIL=$((FAIL + inner_fail))

    # What the fresh machine ended up with, and the inner logs.
    inside 'dpkg-query -W -f="\${Package}\n" | sort' >"$OUT_DIR/packages-after.txt"
    comm -13 "$OUT_DIR/packages-before.txt" "$OUT_DIR/packages-after.txt" \
        >"$OUT_DIR/packages-installed.txt"
    inside 'apt-mark showmanual | sort' >"$OUT_DIR/packages-manual.txt"
    if [[ -d $ROOT$INNER_DIR/log ]]; then
        cp -a -- "$ROOT$INNER_DIR/log" "$OUT_DIR/log"
    fi
    printf '\n==== fresh root: done ====\n'
    printf '# packages installed in the fresh root: %d (list: %s)\n' \
        "$(wc -l <"$OUT_DIR/packages-installed.txt")" "$OUT_DIR/packages-installed.txt"
    printf '# asked for by name: %s\n' \
        "$(comm -12 "$OUT_DIR/packages-installed.txt" "$OUT_DIR/packages-manual.txt" | paste -sd ' ')"
    printf '# times: make demo %d s, make test %d s, all %d s\n' \
        "$t_demo" "$t_test" "$(seconds_since "$t_all")"
    printf '# logs: %s\n' "$OUT_DIR"
    cleanup
    COMPLETE=1
    finish
    [[ $FAIL -eq 0 ]]
}

main "$@"
