#!/usr/bin/env bash
# test-completion.sh: the bash completion (contrib/completion/luksblk.bash)
# offers every command and option the programs' --help lists: luksblk-img's
# commands, each command's options, luksblk-io's options and -c commands,
# luksblk-storage-daemon's options; and values (-f luks, --output=json).
set -euo pipefail
B=${LB_BUILD:?}/tools
# shellcheck disable=SC1091
source "${LB_SRC:?}/contrib/completion/luksblk.bash"
fails=0

# complete WORD...: set COMPREPLY to the candidates for the last word
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    local spec=${COMPSPEC[$1]}
    # compopt fails outside a real completion: the status does not matter
    "$spec" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" || true
}
expect() {  # expect WANTED WORD...: WANTED is among the candidates
    local want=$1 c
    shift
    complete_words "$@"
    for c in "${COMPREPLY[@]}"; do
        [ "$c" != "$want" ] || return 0
    done
    echo "FAIL: '$*' does not offer '$want'"
    fails=$((fails + 1))
}
declare -A COMPSPEC
for p in luksblk-img luksblk-io luksblk-storage-daemon; do
    COMPSPEC[$p]=$(complete -p "$p" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
    [ -n "${COMPSPEC[$p]}" ] || { echo "FAIL: no completion for $p"; exit 1; }
done

# luksblk-img: commands and each command's options
syn=$("$B/luksblk-img" --help | sed -n '/^Command syntax:/,$p' | tail -n +2)
n=0
while read -r cmd rest; do
    [ -n "$cmd" ] || continue
    n=$((n + 1))
    expect "$cmd" luksblk-img ""
    for opt in $(grep -oE '(^|[ [|])--?[A-Za-z][A-Za-z0-9-]*' <<<"$rest" | tr -d ' [|'); do
        case $opt in
        --output | --preallocation | --flush-interval | --pattern) opt=$opt= ;;
        esac
        expect "$opt" luksblk-img "$cmd" -
    done
done <<<"$syn"
[ "$n" -ge 10 ] || { echo "FAIL: only $n luksblk-img commands in --help"; exit 1; }
expect luks luksblk-img create -f ""
expect json luksblk-img info --output=j
expect --version luksblk-img -

# luksblk-io: options and -c commands
for opt in $("$B/luksblk-io" --help | grep -oE '^  (-[A-Za-z], )?--?[A-Za-z][A-Za-z-]*' | tr ',' ' '); do
    expect "$opt" luksblk-io -
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
truncate -s 1M "$T/x.raw"
for c in $("$B/luksblk-io" -f raw "$T/x.raw" -c help | sed -n 's/^\([a-z_]*\) .* -- .*/\1/p'); do
    expect "$c" luksblk-io -c ""
done
expect writeback luksblk-io -t w

# luksblk-storage-daemon: options
for opt in $("$B/luksblk-storage-daemon" --help | grep -oE '^  (-[A-Za-z], )?--?[A-Za-z][A-Za-z-]*' | tr ',' ' '); do
    expect "$opt" luksblk-storage-daemon -
done
expect addr.type=fd, luksblk-storage-daemon --nbd-server addr
expect secret, luksblk-storage-daemon --object s

if [ "$fails" -gt 0 ]; then
    echo "$fails completions missing: add them to contrib/completion/luksblk.bash"
    exit 1
fi
echo "bash completion offers every command and option of --help"
