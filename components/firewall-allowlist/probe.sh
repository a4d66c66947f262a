# firewall-probe.sh: reads every firewall that may stand between a source and sshd's port:
# iptables (legacy or nf_tables backend), nftables, firewalld and fail2ban, and the files each
# persists its rules in. Changes nothing.
#
# Environment:
#   SR_FWD_RULES  firewalld rich rules that must be present, one a line (checked in every active zone)
# Keys have no digits (parseKeyValues), so fail2ban is "failban".
# Prints: iptables=absent|legacy|nf_tables, iptables_save=<4|6> <base64>,
# nft=absent|present, nft_json=<base64 of `nft -j -a list ruleset`>,
# firewalld=absent|stopped|running, firewalld_missing=<zone> <runtime|permanent> <base64 rule>,
# failban=absent|stopped|running, failban_jail=<jail>, failban_banned=<jail> <ip>, failban_ignoreip=<jail> <entry>,
# failban_dropin=<base64 or "absent">, persist=<4|6> <path> <base64> for each iptables rules file,
# nft_conf=<path> <base64>, nft_include=<base64 or "absent">.
set -eu
have() { command -v "$1" >/dev/null 2>&1; }

if have iptables-save; then
    case $(iptables -V 2>/dev/null) in
        *nf_tables*) printf 'iptables=nf_tables\n' ;;
        *) printf 'iptables=legacy\n' ;;
    esac
    printf 'iptables_save=4 %s\n' "$(iptables-save | sr_b64)"
    ! have ip6tables-save || printf 'iptables_save=6 %s\n' "$(ip6tables-save | sr_b64)"
else
    printf 'iptables=absent\n'
fi
for pair in "4 /etc/iptables/rules.v4" "6 /etc/iptables/rules.v6" "4 /etc/sysconfig/iptables" "6 /etc/sysconfig/ip6tables"; do
    [ ! -f "${pair#* }" ] || printf 'persist=%s %s\n' "$pair" "$(sr_b64 <"${pair#* }")"
done

if have nft; then
    printf 'nft=present\nnft_json=%s\n' "$(nft -j -a list ruleset | sr_b64)"
    for conf in /etc/nftables.conf /etc/sysconfig/nftables.conf; do
        [ ! -f "$conf" ] || { printf 'nft_conf=%s %s\n' "$conf" "$(sr_b64 <"$conf")"; break; }
    done
    if [ -f /etc/nftables.d/sshremedy.nft ]; then
        printf 'nft_include=%s\n' "$(sr_b64 </etc/nftables.d/sshremedy.nft)"
    else
        printf 'nft_include=absent\n'
    fi
else
    printf 'nft=absent\n'
fi

if ! have firewall-cmd; then
    printf 'firewalld=absent\n'
elif [ "$(firewall-cmd --state 2>/dev/null)" != running ]; then
    printf 'firewalld=stopped\n'
else
    printf 'firewalld=running\n'
    # Rich rules apply to the zone a packet is classified into: every active zone, and the default.
    # No active zone at all (no interface bound to one, e.g. without NetworkManager) is common:
    # grep then finds nothing, which must not end the list before the default zone.
    zones=$({ firewall-cmd --get-active-zones | grep -v '^[[:space:]]' || true; firewall-cmd --get-default-zone; } | sort -u)
    printf '%s\n' "${SR_FWD_RULES:-}" | while IFS= read -r rule; do
        [ -n "$rule" ] || continue
        for zone in $zones; do
            firewall-cmd --zone="$zone" --query-rich-rule="$rule" >/dev/null 2>&1 ||
                printf 'firewalld_missing=%s runtime %s\n' "$zone" "$(printf '%s' "$rule" | sr_b64)"
            firewall-cmd --permanent --zone="$zone" --query-rich-rule="$rule" >/dev/null 2>&1 ||
                printf 'firewalld_missing=%s permanent %s\n' "$zone" "$(printf '%s' "$rule" | sr_b64)"
        done
    done
fi

if ! have fail2ban-client; then
    printf 'failban=absent\n'
elif ! { grep -qsx fail2ban-server /proc/[0-9]*/comm || [ -S /run/fail2ban/fail2ban.sock ] || [ -S /var/run/fail2ban/fail2ban.sock ]; } ||
    ! fail2ban-client ping >/dev/null 2>&1; then
    # No server process and no socket: not running, known without starting Python (a tenth of a
    # second of CPU a host, which a fleet run pays once per host).
    printf 'failban=stopped\n'
else
    printf 'failban=running\n'
    for jail in $(fail2ban-client status | sed -n 's/.*Jail list:[[:space:]]*//p' | tr ',' ' '); do
        printf 'failban_jail=%s\n' "$jail"
        # Printed as a Python list: ['198.51.100.7', '2001:db8::1']
        for ip in $(fail2ban-client get "$jail" banned | tr -d "[]',"); do
            printf 'failban_banned=%s %s\n' "$jail" "$ip"
        done
        fail2ban-client get "$jail" ignoreip | sed -n "s/^[|\`]- //p" | while read -r entry; do
            printf 'failban_ignoreip=%s %s\n' "$jail" "$entry"
        done
    done
fi
if [ -f /etc/fail2ban/jail.d/sshremedy.local ]; then
    printf 'failban_dropin=%s\n' "$(sr_b64 </etc/fail2ban/jail.d/sshremedy.local)"
elif [ -d /etc/fail2ban/jail.d ]; then
    printf 'failban_dropin=absent\n'
fi
