#!/usr/bin/env bash
# debian-source.sh: fetch the Debian source package of the installed version
# of a package (e.g. qemu, cryptsetup) and extract its upstream tree, so peer
# test suites run against luksblk without committing any of their code.
#
# Usage: scripts/debian-source.sh PKG DESTDIR [MEMBER...]
#   PKG      a source package name (qemu, cryptsetup) or a binary package
#            built from it (qemu-utils, cryptsetup-bin); the version is the
#            one dpkg has installed
#   DESTDIR  where the upstream tree goes: DESTDIR/tests/..., DESTDIR/python/...
#            (the .orig tarball with its top directory stripped; Debian's
#            patches are not applied)
#   MEMBER   only these paths of the tree (e.g. tests/qemu-iotests python/qemu);
#            default: the whole tree
#
# apt runs with a private state under DESTDIR/.apt (own lists, cache, status
# and a deb-src twin of the machine's /etc/apt sources, plus the release's
# -backports suite derived as in scripts/install-deps.sh), so the system's apt
# configuration and lists are untouched. Results are cached: a second run with
# the same installed version (and members already present) does nothing.
#
# Exit: 0 done (prints DESTDIR), 77 unavailable (not installed, no network,
# no such source version) with the reason on stderr, 1 other errors.
set -eu

usage() { echo "usage: $0 PKG DESTDIR [MEMBER...]" >&2; exit 1; }
[ $# -ge 2 ] || usage
pkg=$1
dest=$2
shift 2
unavailable() { echo "debian-source: $pkg: $*" >&2; exit 77; }

command -v dpkg-query >/dev/null || unavailable "not a Debian system (no dpkg-query)"
command -v apt-get >/dev/null || unavailable "apt-get is not installed"

# Source package and version of the installed package: PKG may name the
# source (qemu) or a binary built from it (qemu-utils).
src_ver=$(dpkg-query -W -f='${db:Status-Abbrev} ${source:Package} ${source:Version} ${binary:Package}\n' 2>/dev/null |
    awk -v p="$pkg" '$1 ~ /^.i/ && ($2 == p || $4 == p || $4 ~ ("^" p ":")) { print $2, $3; exit }')
[ -n "$src_ver" ] || unavailable "no installed package built from source '$pkg'"
src=${src_ver% *}
ver=${src_ver#* }

mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
stamp="$dest/.debian-source"
exec 9>"$dest/.lock"
flock 9

have_members() {
    local m
    [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$src $ver" ] || return 1
    for m in "$@"; do
        [ -e "$dest/$m" ] || return 1
    done
    [ $# -gt 0 ] || grep -qx 'all' "$stamp"
}
if have_members "$@"; then
    echo "$dest"
    exit 0
fi

apt="$dest/.apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/etc/sources.list.d" \
    "$apt/etc/preferences.d" "$apt/etc/apt.conf.d" "$apt/download"
: >"$apt/status"

# deb-src twin of the machine's sources (deb822 .sources and one-line .list).
twin="$apt/etc/sources.list.d"
rm -f "$twin"/*
etc=${LB_APT_ETC:-/etc/apt}   # overridable for testing the derivation
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
for f in "$etc"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS=""; ORS="\n\n" }
        {
            n = split($0, l, "\n"); out = ""; enabled = 1
            for (i = 1; i <= n; i++) {
                if (l[i] ~ /^#/) continue
                if (l[i] ~ /^Enabled: *no/) enabled = 0
                if (l[i] ~ /^Types:/) l[i] = "Types: deb-src"
                out = out l[i] "\n"
            }
            if (enabled) printf "%s\n", out
        }' "$f" >"$twin/$(basename "$f")"
done
for f in "$etc"/sources.list "$etc"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n 's/^deb \(.*\)/deb-src \1/p' "$f" >"$twin/$(basename "$f")"
done
# The -backports suite (QEMU comes from there), derived from the release's
# own entry when the machine does not list it.
if [ -n "$codename" ] && ! grep -rqs -- "$codename-backports" "$twin"; then
    for f in "$twin"/*.sources; do
        [ -f "$f" ] || continue
        awk -v rel="$codename" '
            BEGIN { RS=""; ORS="\n\n" }
            $0 ~ ("Suites: " rel "( |\n|$)") {
                n = split($0, l, "\n"); out = ""
                for (i = 1; i <= n; i++) {
                    if (l[i] ~ /^Suites:/) l[i] = "Suites: " rel "-backports"
                    out = out l[i] "\n"
                }
                printf "%s\n", out; exit
            }' "$f" >"$twin/zz-backports.sources"
        [ -s "$twin/zz-backports.sources" ] && break
        rm -f "$twin/zz-backports.sources"
    done
    if [ ! -s "$twin/zz-backports.sources" ]; then
        grep -hE "^deb-src [^ ]+ $codename main" "$twin"/*.list 2>/dev/null | head -n1 |
            sed "s/ $codename main/ $codename-backports main/" >"$twin/zz-backports.list" || true
    fi
fi
grep -rqs 'deb-src' "$twin" || unavailable "no Debian source entries can be derived from /etc/apt"

aptopts=(-o "Dir::State=$apt" -o "Dir::State::Lists=$apt/lists"
    -o "Dir::State::status=$apt/status" -o "Dir::Cache=$apt/cache"
    -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$twin"
    -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
    -o "Dir::Etc::Parts=$apt/etc/apt.conf.d" -o "Acquire::Languages=none"
    -o "APT::Get::List-Cleanup=false" -o "Debug::NoLocking=true"
    -o "Acquire::Retries=1" -o "Acquire::http::Timeout=30")

if ! ls "$apt/download/${src}_"*.orig.tar.* >/dev/null 2>&1 ||
    [ "$(cat "$apt/download/.version" 2>/dev/null)" != "$ver" ]; then
    if ! apt-get "${aptopts[@]}" -qq update >"$apt/update.log" 2>&1 ||
        grep -qE '^(E:|Err:|W: Failed to fetch)' "$apt/update.log"; then
        unavailable "cannot read the Debian source indexes (no network?): $(grep -m1 -E '^(E|Err|W):' "$apt/update.log" || true)"
    fi
    rm -f "$apt/download/"*
    if ! (cd "$apt/download" &&
        apt-get "${aptopts[@]}" -qq source --download-only --tar-only "$src=$ver") \
        >"$apt/source.log" 2>&1; then
        unavailable "cannot download source $src=$ver: $(grep -m1 -E '^(E|Err):' "$apt/source.log" || tail -n1 "$apt/source.log")"
    fi
    echo "$ver" >"$apt/download/.version"
fi

orig=$(ls "$apt/download/${src}_"*.orig.tar.* 2>/dev/null | head -n1)
[ -n "$orig" ] || unavailable "the source package $src=$ver has no .orig tarball"
top=$(tar -tf "$orig" | head -n1 | cut -d/ -f1)
if [ $# -gt 0 ]; then
    members=()
    for m in "$@"; do members+=("$top/${m%/}"); done
    tar -xf "$orig" -C "$dest" --strip-components=1 "${members[@]}" ||
        { echo "debian-source: $pkg: cannot extract $* from $orig" >&2; exit 1; }
    mark=partial
else
    tar -xf "$orig" -C "$dest" --strip-components=1
    mark=all
fi
printf '%s %s\n%s\n' "$src" "$ver" "$mark" >"$stamp"
echo "$dest"
