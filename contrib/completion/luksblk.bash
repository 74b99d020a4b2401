# bash completion for luksblk-img, luksblk-io and luksblk-storage-daemon:
# commands, options and the values of the options that take a fixed set.
# Installed once per program into share/bash-completion/completions;
# tests/install/test-completion.sh checks that every command and option
# their --help lists is offered here.

# _luksblk_words: set cur and prev from the command line itself, so that
# "--output=j" stays one word whatever COMP_WORDBREAKS splits at.
_luksblk_words() {
    local line=${COMP_LINE:0:COMP_POINT}
    local -a w
    read -r -a w <<<"$line"
    if [[ $line =~ [[:space:]]$ ]]; then
        cur=""
        prev=${w[${#w[@]} - 1]-}
    else
        cur=${w[${#w[@]} - 1]-}
        prev=${w[${#w[@]} - 2]-}
    fi
}

# _luksblk_values OPTION= VALUES...: complete the value after OPTION=; bash
# replaces only the part after "=" when COMP_WORDBREAKS holds "=".
_luksblk_values() {
    local opt=$1
    shift
    mapfile -t COMPREPLY < <(compgen -W "$*" -- "${cur#"$opt"}")
    if [[ $COMP_WORDBREAKS != *=* ]]; then
        COMPREPLY=("${COMPREPLY[@]/#/$opt}")
    fi
}

_luksblk_img_opts() {
    case $1 in
    amend) echo "--object --image-opts -f --force -o -h --help" ;;
    bench) echo "-c -d -f --flush-interval= -n --no-drain -o --pattern= -q
                 -s -S -t -w -U --object --image-opts -h --help" ;;
    check) echo "--object --image-opts -q -f --output= -U -h --help" ;;
    compare) echo "--object --image-opts -f -F -p -q -s -U -h --help" ;;
    convert) echo "--object --image-opts --target-image-opts -n -p -q -f -O
                   -o -S -m -W -h --help" ;;
    create) echo "--object -q -f -o -h --help" ;;
    header-attach | header-restore) echo "-y --yes --force -h --help" ;;
    header-backup | header-detach) echo "-y --yes -h --help" ;;
    info) echo "--object --image-opts -f --output= -U -h --help" ;;
    luksHeaderBackup) echo "--header-backup-file -h --help" ;;
    luksHeaderRestore) echo "--force --header-backup-file -h --help" ;;
    measure) echo "--output= -O -o --size --object --image-opts -f -h --help" ;;
    reencrypt) echo "--object --key-secret --new-key-secret --encrypt
                     --decrypt --header --cipher --key-size --sector-size
                     --resilience --hotzone-size --reduce-device-size
                     --iter-time --pbkdf --init-only --resume-only --repair
                     -p -q -h --help" ;;
    resize) echo "--object --image-opts -f --preallocation= -q --shrink
                  -h --help" ;;
    esac
}

_luksblk_img() {
    local cur prev cmd
    _luksblk_words
    if [ "$COMP_CWORD" -le 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "amend bench check compare
            convert create header-attach header-backup header-detach
            header-restore info luksHeaderBackup luksHeaderRestore measure reencrypt resize
            -h --help -V --version" -- "$cur")
        return
    fi
    cmd=${COMP_WORDS[1]}
    case $prev in
    -f | -F | -O)
        mapfile -t COMPREPLY < <(compgen -W "luks raw" -- "$cur"); return ;;
    -t)
        mapfile -t COMPREPLY < <(compgen -W "none writeback writethrough
            directsync unsafe" -- "$cur"); return ;;
    --resilience)
        mapfile -t COMPREPLY < <(compgen -W "checksum journal datashift
            none" -- "$cur"); return ;;
    -o)
        mapfile -t COMPREPLY < <(compgen -W "key-secret= detached-header=
            luks-version= cipher-alg= cipher-mode= ivgen-alg= ivgen-hash-alg=
            hash-alg= iter-time= label= pbkdf= pbkdf-memory= pbkdf-parallel=
            sector-size= preallocation= size= state= new-secret= old-secret=
            keyslot= help" -- "$cur"); return ;;
    --object)
        mapfile -t COMPREPLY < <(compgen -W "secret,id=" -- "$cur"); return ;;
    esac
    case $cur in
    --output=*) _luksblk_values --output= human json; return ;;
    --preallocation=*) _luksblk_values --preallocation= off falloc full; return ;;
    -*)
        mapfile -t COMPREPLY < <(compgen -W "$(_luksblk_img_opts "$cmd")" -- "$cur")
        if [[ ${COMPREPLY[0]-} == *= ]]; then
            compopt -o nospace 2>/dev/null
        fi
        return 0 ;;
    esac
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_luksblk_io() {
    local cur prev
    _luksblk_words
    case $prev in
    -c | --cmd)
        mapfile -t COMPREPLY < <(compgen -W "aio_flush aio_read aio_write
            discard flush help info length read readv sleep truncate write
            writev" -- "$cur"); return ;;
    -f | --format)
        mapfile -t COMPREPLY < <(compgen -W "luks raw" -- "$cur"); return ;;
    -t | --cache)
        mapfile -t COMPREPLY < <(compgen -W "none writeback writethrough
            directsync unsafe" -- "$cur"); return ;;
    --object)
        mapfile -t COMPREPLY < <(compgen -W "secret,id=" -- "$cur"); return ;;
    esac
    case $cur in
    -*)
        mapfile -t COMPREPLY < <(compgen -W "--object --image-opts -c --cmd
            -f --format -r --read-only -n --nocache -t --cache -U
            --force-share -h --help -V --version" -- "$cur")
        return ;;
    esac
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_luksblk_storage_daemon() {
    local cur prev
    _luksblk_words
    case $prev in
    --blockdev)
        mapfile -t COMPREPLY < <(compgen -W "driver=file, driver=raw,
            driver=luks," -- "$cur"); compopt -o nospace 2>/dev/null; return ;;
    --chardev)
        mapfile -t COMPREPLY < <(compgen -W "socket,id=" -- "$cur")
        compopt -o nospace 2>/dev/null; return ;;
    --export)
        mapfile -t COMPREPLY < <(compgen -W "type=nbd,id= type=fuse,id=" -- "$cur")
        compopt -o nospace 2>/dev/null; return ;;
    --monitor)
        mapfile -t COMPREPLY < <(compgen -W "chardev=" -- "$cur")
        compopt -o nospace 2>/dev/null; return ;;
    --nbd-server)
        mapfile -t COMPREPLY < <(compgen -W "addr.type=inet, addr.type=unix,
            addr.type=fd," -- "$cur"); compopt -o nospace 2>/dev/null; return ;;
    --object)
        mapfile -t COMPREPLY < <(compgen -W "help authz-list, authz-simple,
            iothread, secret, tls-creds-anon, tls-creds-psk,
            tls-creds-x509," -- "$cur"); compopt -o nospace 2>/dev/null; return ;;
    --pidfile)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "--blockdev --chardev --export
        --monitor --nbd-server --object --pidfile --daemonize -h --help
        -V --version" -- "$cur")
}

complete -F _luksblk_img luksblk-img
complete -F _luksblk_io luksblk-io
complete -F _luksblk_storage_daemon luksblk-storage-daemon
