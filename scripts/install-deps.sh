#!/usr/bin/env bash
# install-deps.sh: install the Debian packages luksblk builds and tests with.
#
# Usage: scripts/install-deps.sh [--check]
#   (no option)  install what is missing (needs root; apt-get)
#   --check      only list what is missing; exit 1 if anything is
#
# QEMU 9.0+ (detached LUKS headers) comes from the -backports suite of the
# machine's own Debian archive: the entry is derived from the existing
# source list, so no archive host is named here.
set -eu

BUILD_PKGS="gcc pkg-config meson ninja-build python3 libglib2.0-dev
 libgnutls28-dev nettle-dev libargon2-dev libjson-glib-dev libfuse3-dev
 python3-docutils"
TEST_PKGS="cryptsetup-bin qemu-utils libnbd-bin fio gnutls-bin fuse3 xz-utils
 python3-minimal debhelper dpkg-dev fakeroot lintian man-db systemd
 python3-cryptography clang libclang-rt-dev"
QEMU_PKGS="qemu-utils qemu-block-extra"
# The vhost-user-blk guest tests (tests/vm): QEMU's x86 system emulator
# (from backports, like the tools) and busybox-static for the initramfs;
# libvirt-clients for virt-xml-validate of the documented domain XML.
VM_PKGS="qemu-system-x86 busybox-static libvirt-clients"

missing() {
    local p out=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
            out="$out $p"
    done
    echo "$out"
}

# shellcheck disable=SC2086
need=$(missing $BUILD_PKGS $TEST_PKGS)
if [ "${1:-}" = "--check" ]; then
    if [ -n "$need" ]; then
        echo "missing Debian packages:$need" >&2
        exit 1
    fi
    exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    if [ -n "$need" ]; then
        echo "luksblk: please install these Debian packages:$need" >&2
        echo "  sudo apt-get install$need" >&2
        # Only the build packages are fatal; tests skip what is absent.
        # shellcheck disable=SC2086
        [ -z "$(missing $BUILD_PKGS)" ] || exit 1
    fi
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive

add_backports() {
    local codename src
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || return 0
    if grep -rqs -- "$codename-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        return 0
    fi
    src=/etc/apt/sources.list.d/debian.sources
    if [ -f "$src" ]; then
        # Copy the stanza whose Suites line starts with the release name,
        # switching the suite to backports.
        awk -v rel="$codename" '
            BEGIN { RS=""; ORS="\n\n" }
            $0 ~ ("Suites: " rel "( |\n|$)") {
                n = split($0, lines, "\n"); out = ""
                for (i = 1; i <= n; i++) {
                    if (lines[i] ~ /^#/) continue
                    if (lines[i] ~ /^Suites:/) lines[i] = "Suites: " rel "-backports"
                    out = out lines[i] "\n"
                }
                printf "%s\n", out; exit
            }' "$src" > /etc/apt/sources.list.d/luksblk-backports.sources
        [ -s /etc/apt/sources.list.d/luksblk-backports.sources ] ||
            rm -f /etc/apt/sources.list.d/luksblk-backports.sources
    elif [ -f /etc/apt/sources.list ]; then
        grep -E "^deb [^ ]+ $codename main" /etc/apt/sources.list | head -n1 |
            sed "s/ $codename main/ $codename-backports main/" \
            > /etc/apt/sources.list.d/luksblk-backports.list || true
    fi
}

qemu_new_enough() {
    command -v qemu-img >/dev/null || return 1
    local v
    v=$(qemu-img --version | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n1)
    [ -n "$v" ] && [ "$v" -ge 9 ]
}

if [ -n "$need" ] || ! qemu_new_enough; then
    add_backports
    apt-get update -qq || true
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $BUILD_PKGS $TEST_PKGS >/dev/null
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [ -n "$codename" ] && ! qemu_new_enough; then
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends -t "$codename-backports" \
            $QEMU_PKGS qemu-system-common >/dev/null 2>&1 ||
        apt-get install -y -qq --no-install-recommends -t "$codename-backports" \
            qemu-utils >/dev/null 2>&1 ||
            echo "luksblk: QEMU from $codename-backports not available; QEMU 9 interop tests will skip" >&2
    fi
fi

# shellcheck disable=SC2086
vm_need=$(missing $VM_PKGS)
if [ -n "$vm_need" ]; then
    add_backports
    apt-get update -qq || true
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    # shellcheck disable=SC2086
    { [ -n "$codename" ] &&
        apt-get install -y -qq --no-install-recommends -t "$codename-backports" \
            $vm_need >/dev/null 2>&1; } ||
    apt-get install -y -qq --no-install-recommends $vm_need >/dev/null 2>&1 ||
        echo "luksblk: could not install$vm_need; the vhost-user-blk guest tests will skip" >&2
fi
exit 0
