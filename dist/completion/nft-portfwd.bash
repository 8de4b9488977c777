# bash completion for nft-portfwd(8)                                  -*- shell-script -*-
# Installed as .../bash-completion/completions/nft-portfwd (loaded on demand by
# bash-completion); it also works when sourced without bash-completion.

# Options that take a value, as the program parses them (src/options.c).
_nft_portfwd_takes_value()
{
    case $1 in
        -c | --config | --config-dir | -o | --output | --state-dir | --public-ip | --host-ip | \
            --host-iface | --host-port | --vm-ip | --vm | --vm-port | --proto | --integrate | \
            --routing | --trace)
            return 0
            ;;
    esac
    return 1
}

# The options each command takes ('' is the command line before a command).
_nft_portfwd_options()
{
    local common="--config --config-dir --help --version"
    local fwd="--public-ip --host-ip --host-iface --host-port --vm-ip --vm --vm-port --proto --integrate --routing"
    case $1 in
        render) echo "$common --output --state-dir $fwd" ;;
        check | apply) echo "$common --state-dir --json --quiet $fwd" ;;
        flush | status) echo "$common --state-dir --json --quiet" ;;
        diagnose) echo "$common --state-dir --json --quiet --trace $fwd" ;;
        watch) echo "$common --state-dir $fwd" ;;
        reapply) echo "--help --version --state-dir --json --quiet" ;;
        add | remove) echo "$common --state-dir --json --quiet" ;;
        list) echo "$common --state-dir --json --quiet" ;;
        metrics) echo "$common --output --state-dir" ;;
        *) echo "$common --output --state-dir --json --quiet --trace $fwd" ;;
    esac
}

# The names of the configured forwards (what remove takes), from 'list' with the same
# --config, --config-dir and --state-dir as the command line.
_nft_portfwd_names()
{
    local i args=()
    for ((i = 2; i <= $#; i++)); do
        case ${!i} in
            -c | --config | --config-dir | --state-dir)
                local j=$((i + 1))
                args+=("${!i}" "${!j}")
                ;;
            --config=* | --config-dir=* | --state-dir=*) args+=("${!i}") ;;
        esac
    done
    "${1:-nft-portfwd}" "${args[@]}" list 2>/dev/null | awk 'NR > 1 && $1 != "-" { print $1 }'
}

_nft_portfwd_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir "$@"
    elif [[ $1 == -d ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -d -- "$cur"))
    else
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

_nft_portfwd()
{
    local cur prev words cword split=false
    local commands="render check apply flush status diagnose watch reapply add remove list metrics"

    if declare -F _init_completion >/dev/null; then
        _init_completion -s || return
    else
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        if [[ $cur == --*=* ]]; then
            prev=${cur%%=*}
            cur=${cur#*=}
            split=true
        elif [[ $cur == = && $prev == --* ]]; then
            cur=
            split=true
        elif [[ $prev == = && $cword -ge 2 ]]; then
            prev=${COMP_WORDS[COMP_CWORD - 2]}
            split=true
        fi
    fi

    case $prev in
        -c | --config)
            _nft_portfwd_files
            return
            ;;
        -o | --output)
            _nft_portfwd_files
            return
            ;;
        --state-dir | --config-dir)
            _nft_portfwd_files -d
            return
            ;;
        --proto)
            COMPREPLY=($(compgen -W "tcp udp tcp,udp" -- "$cur"))
            return
            ;;
        --integrate)
            COMPREPLY=($(compgen -W "auto off" -- "$cur"))
            return
            ;;
        --routing)
            COMPREPLY=($(compgen -W "auto forwards open" -- "$cur"))
            return
            ;;
        --vm)
            # the libvirt domains, as virsh lists them (read-only; nothing without libvirt)
            local domains
            domains=$(virsh -r list --all --name 2>/dev/null)
            COMPREPLY=($(compgen -W "$domains" -- "$cur"))
            return
            ;;
        --host-iface)
            local ifaces
            ifaces=$(command ls /sys/class/net 2>/dev/null)
            COMPREPLY=($(compgen -W "$ifaces" -- "$cur"))
            return
            ;;
        --public-ip | --host-ip)
            local addrs
            addrs=$(ip -o addr show 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }')
            COMPREPLY=($(compgen -W "$addrs" -- "$cur"))
            return
            ;;
        --host-port | --vm-ip | --vm-port | --trace)
            return # a number or an address: nothing to offer
            ;;
    esac
    $split && return

    # The command: the first word that is neither an option nor an option's value.
    local i command=
    for ((i = 1; i < cword; i++)); do
        if [[ ${words[i]} == -* ]]; then
            [[ ${words[i]} != *=* ]] && _nft_portfwd_takes_value "${words[i]}" && ((i++))
        else
            command=${words[i]}
            break
        fi
    done

    # add's words are a config file's forward line; remove's, a name or PROTO PORT.
    if [[ $cur != -* && ( $command == add || $command == remove ) ]]; then
        local n=0 last=
        for ((i++; i < cword; i++)); do
            [[ ${words[i]} == -* ]] && continue
            n=$((n + 1))
            last=${words[i]}
        done
        if ((n == 0)); then
            COMPREPLY=($(compgen -W "tcp udp tcp,udp $([[ $command == remove ]] &&
                _nft_portfwd_names "${words[@]}")" -- "$cur"))
        elif [[ $command == add && $last == limit ]]; then
            COMPREPLY=($(compgen -W "5/second 5/minute 5/hour" -- "$cur"))
        elif [[ $command == add && $n -ge 2 ]]; then
            COMPREPLY=($(compgen -W "to from keep-source name limit burst log" -- "$cur"))
        fi
        return
    fi
    if [[ $cur == -* || -n $command ]]; then
        COMPREPLY=($(compgen -W "$(_nft_portfwd_options "$command")" -- "$cur"))
        [[ ${COMPREPLY-} == *= ]] && compopt -o nospace
        return
    fi
    COMPREPLY=($(compgen -W "$commands" -- "$cur"))
} &&
    complete -F _nft_portfwd nft-portfwd

# ex: filetype=sh
