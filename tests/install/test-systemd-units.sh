#!/usr/bin/env bash
# test-systemd-units.sh: the units of systemd/ as built (ExecStart pointed
# at this build's daemon) pass `systemd-analyze verify` with no message
# about them (Documentation= resolved against the built man pages), carry
# the hardening issue 15 asks for, and `systemd-analyze security` rates
# the service "OK" or better (exposure <= 2.0; the score is printed).
set -euo pipefail
BUILD=${LB_BUILD:?}
if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze not installed (package systemd)"
    exit 77
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/lb-units.XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

svc=$T/luksblk-storage-daemon@.service
sed "s|^ExecStart=[^ ]*luksblk-storage-daemon |ExecStart=$BUILD/tools/luksblk-storage-daemon |" \
    "$BUILD/systemd/luksblk-storage-daemon@.service" > "$svc"
grep -q "^ExecStart=$BUILD/tools/" "$svc" || fail "no ExecStart to point at the build"
cp "${LB_SRC:?}/systemd/luksblk-storage-daemon@.socket" "$T/"

for want in Type=notify ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes \
            MemoryDenyWriteExecute=yes 'CapabilityBoundingSet=' LockPersonality=yes \
            'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' \
            'LoadCredential=secret:/etc/luksblk/%i.key' \
            'EnvironmentFile=/etc/luksblk/%i.conf' 'LimitMEMLOCK='; do
    grep -q "^$want" "$svc" || fail "the service lacks $want"
done
grep -q 'file=${CREDENTIALS_DIRECTORY}/secret' "$svc" || fail "secret not read from the credential"
grep -q '^ListenStream=/run/luksblk/%i.qmp' "$T/luksblk-storage-daemon@.socket" || fail "socket unit"

man=(--man=no)
if [ -f "$BUILD/docs/man/luksblk-storage-daemon.1" ]; then
    mkdir -p "$T/man/man1" "$T/man/man7"
    cp "$BUILD"/docs/man/*.1 "$T/man/man1/"
    cp "$BUILD"/docs/man/*.7 "$T/man/man7/"
    export MANPATH=$T/man
    man=(--man=yes)
fi
out=$(cd "$T" && systemd-analyze verify "${man[@]}" \
        "$T/luksblk-storage-daemon@vol0.service" "$T/luksblk-storage-daemon@vol0.socket" 2>&1) ||
    { echo "$out"; fail "systemd-analyze verify failed"; }
if grep -i luksblk <<<"$out"; then
    fail "systemd-analyze verify complains about the units (above)"
fi
echo "systemd-analyze verify ${man[*]}: no complaint"

sec=$(systemd-analyze security --offline=true "$T/luksblk-storage-daemon@vol0.service" 2>&1) ||
    { echo "$sec"; fail "systemd-analyze security failed"; }
line=$(grep 'Overall exposure level' <<<"$sec") || { echo "$sec"; fail "no score"; }
echo "$line"
score=$(sed -n 's/.*: \([0-9.]*\) .*/\1/p' <<<"$line")
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "$sec"; fail "exposure $score > 2.0"; }
