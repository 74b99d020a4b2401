#!/usr/bin/env bash
# test-install-destdir.sh: `meson install --destdir` (what `make install
# DESTDIR=...` runs) puts the programs, man pages, docs, bash completion,
# systemd units and the example config under the prefix inside DESTDIR,
# nothing outside it; the installed programs run (--version, a LUKS
# volume created, written and read back), the pages render with man.
set -euo pipefail
BUILD=${LB_BUILD:?}
D=$(mktemp -d "${TMPDIR:-/tmp}/lb-destdir.XXXXXX")
trap 'rm -rf "$D"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

opt() {  # opt NAME: a build option's value
    meson introspect --buildoptions "$BUILD" |
        python3 -c "import json,sys; print([o['value'] for o in json.load(sys.stdin) if o['name']=='$1'][0])"
}
prefix=$(opt prefix)
mandir=$(opt mandir)
# --no-rebuild: meson test built everything; other tests run meanwhile.
meson install -C "$BUILD" --no-rebuild --quiet --destdir "$D" >"$D.log" 2>&1 ||
    { cat "$D.log"; rm -f "$D.log"; fail "meson install failed"; }
rm -f "$D.log"
P=$D$prefix

for f in bin/luksblk-img bin/luksblk-io bin/luksblk-storage-daemon; do
    [ -x "$P/$f" ] || fail "$prefix/$f not installed"
done
for f in share/bash-completion/completions/luksblk-img \
         share/bash-completion/completions/luksblk-io \
         share/bash-completion/completions/luksblk-storage-daemon \
         share/doc/luksblk/README.md share/doc/luksblk/detached-header.rst \
         share/doc/luksblk/examples/volume.conf; do
    [ -f "$P/$f" ] || fail "$prefix/$f not installed"
done
units=$(find "$D" -name 'luksblk-storage-daemon@.*' | sort)
[ "$(wc -l <<<"$units")" = 2 ] || fail "systemd units: $units"
svc=$(grep '@\.service$' <<<"$units")
grep -q "^ExecStart=$prefix/bin/luksblk-storage-daemon " "$svc" ||
    fail "the service does not run $prefix/bin/luksblk-storage-daemon"

# Nothing outside DESTDIR: every path meson installs exists inside it.
meson introspect --installed "$BUILD" | python3 -c '
import json, os, sys
d = sys.argv[1]
missing = [p for p in json.load(sys.stdin).values() if not os.path.lexists(d + p)]
print("\n".join(missing)); sys.exit(1 if missing else 0)' "$D" ||
    fail "the files above are not under DESTDIR"

if [ -f "$BUILD/docs/man/luksblk-img.1" ]; then
    for p in man1/luksblk-img.1 man1/luksblk-io.1 man1/luksblk-storage-daemon.1 man7/luksblk.7; do
        [ -f "$D$mandir/$p" ] || [ -f "$P/$mandir/$p" ] || fail "$p not installed"
    done
    if command -v man >/dev/null; then
        MANPATH=$P/$mandir man -l "$P/$mandir/man1/luksblk-img.1" 2>/dev/null | grep -q 'header-detach' ||
            fail "man cannot render the installed luksblk-img.1"
    fi
else
    echo "(rst2man missing: no man pages built, none checked)"
fi

# The installed programs work on their own.
"$P/bin/luksblk-img" --version | grep -q "^luksblk-img version [0-9]" || fail "luksblk-img --version"
"$P/bin/luksblk-storage-daemon" --version | grep -q '^Features: .*+LUKS2' || fail "daemon --version"
cd "$D"
printf abc123 > pass.txt
"$P/bin/luksblk-img" create -q --object secret,id=s,file=pass.txt -f luks \
    -o key-secret=s,detached-header=true,iter-time=10 hdr.img
truncate -s 16M payload.img
O="driver=luks,file.filename=payload.img,header.filename=hdr.img,key-secret=s"
"$P/bin/luksblk-io" --object secret,id=s,file=pass.txt --image-opts "$O" \
    -c 'write -P 0x3c 1M 64k' >/dev/null
"$P/bin/luksblk-io" --object secret,id=s,file=pass.txt --image-opts "$O" -r \
    -c 'read -P 0x3c 1M 64k' | grep -q '^read 65536/65536' || fail "installed luksblk-io read back"
echo "installed into DESTDIR under $prefix: $(find "$D" -type f -o -type l | wc -l) files; programs run"
