# rescue-firewall.sh: runs inside the chroot of a stopped system disk (rescue mode), in the session's
# own network namespace (rescue-mount.sh made it empty). Loads the firewall rules the instance's
# boot would load, with the disk's own tools, so the firewall concern's probe sees what the booted
# instance will filter with, and its repair (the live rule, then the persisted file) lands in both.
# A service counts as starting at boot when systemd's wants links or the SysV rc links name it.
#
# Prints: boot_firewall=<service> <file> for each rules file loaded, boot_firewall=firewalld when
# firewalld starts at boot (its rules need its daemon: not loaded), boot_firewall=none otherwise.
set -eu
enabled() {
    for sr_w in /etc/systemd/system/*.wants/"$1".service; do
        [ ! -e "$sr_w" ] || return 0
    done
    ls /etc/rc[2345S].d/S[0-9][0-9]"$1" >/dev/null 2>&1
}
loaded=
load() {
    # $1 service, $2 file, then the command that reads the file on its stdin.
    sr_svc=$1
    sr_file=$2
    shift 2
    [ -f "$sr_file" ] || return 0
    command -v "$1" >/dev/null 2>&1 || sr_die "$sr_svc loads $sr_file at boot, but $1 is missing on the disk"
    "$@" <"$sr_file" || sr_die "loading $sr_file as $sr_svc would at boot failed"
    printf 'boot_firewall=%s %s\n' "$sr_svc" "$sr_file"
    loaded=yes
}
if enabled nftables; then
    for conf in /etc/nftables.conf /etc/sysconfig/nftables.conf; do
        if [ -f "$conf" ]; then
            # nft -f resolves include paths against the configuration's own directory.
            (cd "$(dirname -- "$conf")" && nft -f "$conf") || sr_die "loading $conf as nftables would at boot failed"
            printf 'boot_firewall=nftables %s\n' "$conf"
            loaded=yes
            break
        fi
    done
fi
if enabled netfilter-persistent; then
    load netfilter-persistent /etc/iptables/rules.v4 iptables-restore
    load netfilter-persistent /etc/iptables/rules.v6 ip6tables-restore
fi
enabled iptables && load iptables /etc/sysconfig/iptables iptables-restore
enabled ip6tables && load ip6tables /etc/sysconfig/ip6tables ip6tables-restore
if enabled firewalld; then
    printf 'boot_firewall=firewalld\n'
    loaded=yes
fi
[ -n "$loaded" ] || printf 'boot_firewall=none\n'
