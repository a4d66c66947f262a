# restore.sh: puts the host back as a snapshot of snapshot.sh recorded it, then restarts sshd.
#
# Environment:
#   SR_SNAPSHOT       the snapshot directory (the snapshot= line of snapshot.sh)
#   SR_DEADMAN_TOKEN  set only by the dead-man job: restore only if this job claims the token first;
#                     what is left of the phase that armed it is stopped before anything is restored
#   SR_RESTORE_BOOT   yes: at boot (boot-revert.sh), before sshd and the firewall start: files,
#                     owners and modes only; the services load them as they start
#   SR_LOCK_OWNER     the dead-man job and the boot revert let go of the host lock of that run
# Prints: deadman=fired|disarmed (dead-man job only), restored=<path> and removed=<path> for files,
# restored_mode=<path> for each owner and mode recorded without contents,
# firewall=iptables|ip6tables|nft for each rule set loaded, selinux=<mode> when it was set,
# service_manager=, sshd_service=, and sshd=restarted.
set -eu
command -v sr_die >/dev/null 2>&1 || . "$(dirname -- "$0")/lib.sh"

snap=${SR_SNAPSHOT:-}
sr_check_path SR_SNAPSHOT "$snap"
[ -f "$snap/manifest" ] || sr_die "$snap is not a snapshot (no manifest)"

if [ -n "${SR_DEADMAN_TOKEN:-}" ]; then
    if ! mv -- "$SR_DEADMAN_TOKEN" "$SR_DEADMAN_TOKEN.fired" 2>/dev/null; then
        printf 'deadman=disarmed\n'
        exit 0
    fi
    printf 'deadman=fired\n'
    # The change may still be running (its caller is gone, its link is down, a step hangs):
    # stop it first, so nothing it would still write lands after the revert.
    apply_pid=$(sed -n 's/^apply_pid=//p' "$SR_DEADMAN_TOKEN.fired")
    apply_start=$(sed -n 's/^apply_start=//p' "$SR_DEADMAN_TOKEN.fired")
    if [ -n "$apply_pid" ] && [ -n "$apply_start" ] && [ "$(sr_proc_start "$apply_pid")" = "$apply_start" ]; then
        sr_kill_tree "$apply_pid"
        printf 'stopped=%s\n' "$apply_pid"
    fi
fi
boot=${SR_RESTORE_BOOT:-no}

# Clear the way for tar: it replaces files and links itself, but would merge into a directory,
# and a path recorded absent must go.
restored=
while IFS= read -r line; do
    kind=${line%% *}
    p=${line#* }
    case $kind in
        format | seq | created | run | meta) continue ;;
        file | link | dir | absent) sr_check_path "manifest entry" "$p" ;;
        *) sr_die "$snap/manifest: unknown entry '$line'" ;;
    esac
    if [ "$kind" = absent ]; then
        if [ -e "$p" ] || [ -L "$p" ]; then
            rm -rf -- "$p"
            printf 'removed=%s\n' "$p"
        fi
        continue
    fi
    if [ "$kind" = dir ] || { [ -d "$p" ] && [ ! -L "$p" ]; }; then
        rm -rf -- "$p"
    fi
    restored=$restored$p$sr_nl
done <"$snap/manifest"
[ ! -f "$snap/files.tar" ] || tar -C / -xpf "$snap/files.tar"
# Owners and modes recorded without contents ("meta <uid>:<gid> <mode> <path>"), after the files.
sed -n 's/^meta //p' "$snap/manifest" | while read -r owner mode p; do
    sr_check_path "manifest entry" "$p"
    case $owner:$mode in *[!0-9:]*) sr_die "$snap/manifest: bad meta entry for $p" ;; esac
    [ -e "$p" ] || continue
    chown -- "$owner" "$p"
    chmod -- "$mode" "$p"
    printf 'restored_mode=%s\n' "$p"
done
printf '%s' "$restored" | sed 's/^/restored=/'

if sr_selinux_enabled && command -v restorecon >/dev/null 2>&1; then
    printf '%s' "$restored" | while IFS= read -r p; do restorecon -R -- "$p"; done
fi

# iptables-nft keeps its tables in nftables too: `nft list ruleset` shows them, but with matches
# nft cannot read back. When iptables is the nf_tables kind, nft loads every other table and
# iptables-restore loads its own.
finish() {
    # Armed by a run that is over now: the record goes, the run's lock goes, and the generation
    # moves on so that no run applies a plan made before this revert.
    if [ -n "${SR_DEADMAN_TOKEN:-}" ] || [ "$boot" = yes ]; then
        id=${SR_DEADMAN_TOKEN:-}
        id=${id##*/deadman-}
        [ -z "${SR_DEADMAN_TOKEN:-}" ] || rm -f -- "$SR_STATE_DIR/armed/$id"
        sr_lock_release "${SR_LOCK_OWNER:-}"
        [ "$sr_lock_state" = released ] || sr_generation_bump
        printf 'lock=%s\n' "$sr_lock_state"
    fi
}
if [ "$boot" = yes ]; then
    finish
    exit 0
fi

iptables_tables=
if command -v iptables >/dev/null 2>&1 && iptables -V 2>/dev/null | grep -q nf_tables; then
    for fam in ip ip6; do
        rules=$snap/${fam}tables.rules
        [ -f "$rules" ] || continue
        iptables_tables="$iptables_tables $(sed -n "s/^\*/$fam:/p" "$rules" | tr '\n' ' ')"
    done
fi
if [ -f "$snap/nft.rules" ] && command -v nft >/dev/null 2>&1; then
    {
        printf 'flush ruleset\n'
        awk -v skip=" $iptables_tables " '
            /^table / { dropping = index(skip, " " $2 ":" $3 " ") > 0 }
            dropping { if ($0 ~ /^}/) dropping = 0; next }
            { print }' "$snap/nft.rules"
    } | nft -f -
    printf 'firewall=nft\n'
fi
# A table added since the snapshot is emptied (built-in chains back to ACCEPT) before the
# snapshot's tables load: iptables-restore alone would leave it as it is.
for tool in iptables ip6tables; do
    [ -f "$snap/$tool.rules" ] && command -v "$tool-restore" >/dev/null 2>&1 || continue
    {
        "$tool-save" | awk '/^\*/ || /^COMMIT/ { print } /^:/ && $2 != "-" { print $1 " ACCEPT [0:0]" }'
        cat -- "$snap/$tool.rules"
    } | "$tool-restore"
    printf 'firewall=%s\n' "$tool"
done

if [ -f "$snap/selinux" ] && sr_selinux_enabled && command -v setenforce >/dev/null 2>&1; then
    mode=$(cat -- "$snap/selinux")
    # Disabled cannot be switched to or from at run time; /etc/selinux/config (a file) carries it.
    case $mode in
        Enforcing) setenforce 1 ;;
        Permissive) setenforce 0 ;;
    esac
    case $mode in Enforcing | Permissive) printf 'selinux=%s\n' "$mode" ;; esac
fi

# Unit files restored or removed (an enable link, a socket drop-in): systemd reads them again.
if printf '%s\n' "$restored" "$(sed -n 's/^absent //p' "$snap/manifest")" | grep -q '^/etc/systemd/'; then
    sr_units_changed || printf 'sshremedy: the restored units did not all start again\n' >&2
    printf 'units=reloaded\n'
fi

finish
sr_sshd_describe
sr_sshd_restart || sr_die "restored $snap but restarting sshd ($SR_SSHD_MANAGER $SR_SSHD_SERVICE) failed"
printf 'sshd=restarted\n'
