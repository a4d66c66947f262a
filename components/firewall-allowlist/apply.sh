# firewall-apply.sh: opens the SSH port to allowlisted sources on the firewalls the probe found.
# Each operation adds or moves only rules tagged `sshremedy` for (source, tcp port), lifts
# fail2ban bans of allowlisted sources, and persists rules the way the backend does. Covered by
# the snapshot (which records live iptables and nft state) and the dead-man revert.
#
# Environment:
#   SR_FW_OPS      operations, one a line, in order:
#                    f2b-dropin                         write SR_F2B_DROPIN to jail.d/sshremedy.local
#                    f2b-reload                         reload fail2ban's configuration
#                    unban <jail> <ip>
#                    ipt-accept <4|6> <table> <chain> <cidr> <port>   (moved to the chain's top)
#                    nft-accept <family> <table> <chain> <ip|ip6> <cidr> <port>   (same)
#                    ipt-persist <4|6> <file>          save the live rules as the backend loads them
#                    nft-persist <conf>                write SR_NFT_INCLUDE, include it from <conf>
#                    firewalld <runtime|permanent> <zone> <rich rule…>
#   SR_F2B_DROPIN  content of /etc/fail2ban/jail.d/sshremedy.local
#   SR_NFT_INCLUDE content of /etc/nftables.d/sshremedy.nft
# Prints: done=<operation> for each operation.
set -eu
tag=sshremedy
nft_include=/etc/nftables.d/sshremedy.nft

check_name() {
    case $2 in '' | [!A-Za-z_]* | *[!A-Za-z0-9_.-]*) sr_die "$1 must be an identifier: got '$2'" ;; esac
}
check_cidr() {
    case $1 in '' | *[!0-9A-Fa-f:./]*) sr_die "not an address or CIDR: '$1'" ;; esac
}
check_port() {
    case $1 in '' | 0* | *[!0-9]*) sr_die "not a port: '$1'" ;; esac
}
# The source as nft prints it: a single address without its /32 or /128.
nft_addr() {
    case $1 in */32 | */128) printf '%s\n' "${1%/*}" ;; *) printf '%s\n' "$1" ;; esac
}

set -f
printf '%s\n' "${SR_FW_OPS:-}" | while IFS= read -r line; do
    [ -n "$line" ] || continue
    # shellcheck disable=SC2086 # fields split on purpose; globbing is off
    set -- $line
    case $1 in
        f2b-dropin) sr_write_env SR_F2B_DROPIN /etc/fail2ban/jail.d/sshremedy.local ;;
        f2b-reload) fail2ban-client reload >&2 ;;
        unban)
            check_name jail "$2" && check_cidr "$3"
            fail2ban-client set "$2" unbanip "$3" >&2
            ;;
        ipt-accept)
            check_name table "$3" && check_name chain "$4" && check_cidr "$5" && check_port "$6"
            case $2 in 4) ipt=iptables ;; 6) ipt=ip6tables ;; *) sr_die "ip version must be 4 or 6: got '$2'" ;; esac
            set -- "$ipt" -t "$3" "$4" -s "$5" -p tcp -m tcp --dport "$6" -m comment --comment "$tag" -j ACCEPT
            ipt=$1 table=$3 chain=$4
            shift 4
            while "$ipt" -w -t "$table" -D "$chain" "$@" 2>/dev/null; do :; done
            "$ipt" -w -t "$table" -I "$chain" 1 "$@"
            ;;
        nft-accept)
            check_name family "$2" && check_name table "$3" && check_name chain "$4" && check_cidr "$6" && check_port "$7"
            case $5 in ip | ip6) ;; *) sr_die "address family must be ip or ip6: got '$5'" ;; esac
            addr=$(nft_addr "$6")
            for h in $(nft -a list chain "$2" "$3" "$4" |
                awk -v a="$5 saddr $addr " -v p="dport $7 " -v t="comment \"$tag\"" \
                    'index($0, a) && index($0, p) && index($0, t) { print $NF }'); do
                nft delete rule "$2" "$3" "$4" handle "$h"
            done
            nft insert rule "$2" "$3" "$4" "$5" saddr "$addr" tcp dport "$7" counter accept comment "\"$tag\""
            ;;
        ipt-persist)
            sr_check_path "ipt-persist file" "$3"
            case $2 in 4) iptables-save >"$3.sshremedy-new" ;; 6) ip6tables-save >"$3.sshremedy-new" ;; *) sr_die "bad ip version '$2'" ;; esac
            sr_install_file "$3.sshremedy-new" "$3"
            ;;
        nft-persist)
            sr_check_path "nft-persist conf" "$2"
            sr_write_env SR_NFT_INCLUDE "$nft_include"
            grep -qxF "include \"$nft_include\"" "$2" || printf '\n# sshremedy: accepts for the SSH port (firewall-allowlist)\ninclude "%s"\n' "$nft_include" >>"$2"
            ;;
        firewalld)
            check_name zone "$3"
            rule=${line#firewalld "$2" "$3" }
            case $2 in
                runtime) firewall-cmd --zone="$3" --add-rich-rule="$rule" >&2 ;;
                permanent) firewall-cmd --permanent --zone="$3" --add-rich-rule="$rule" >&2 ;;
                *) sr_die "firewalld rules are runtime or permanent: got '$2'" ;;
            esac
            ;;
        *) sr_die "unknown firewall operation: $1" ;;
    esac
    printf 'done=%s\n' "$line"
done
