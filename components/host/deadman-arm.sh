# deadman-arm.sh: arms a revert that restores a snapshot and restarts sshd after a window unless
# deadman-disarm.sh stops it first. It outlives the SSH session and the caller: a systemd timer
# where systemd booted the host, else a waiter in a session of its own.
#
# Environment:
#   SR_DEADMAN_ID      names the revert (letters, digits, . _ -); arming an id again replaces its job
#   SR_SNAPSHOT        the snapshot to restore (the snapshot= line of snapshot.sh)
#   SR_WINDOW          seconds until the revert runs
#   SR_RESTORE_SCRIPT  the text of restore.sh, and
#   SR_LIB_SCRIPT      the text of lib.sh: installed on the host, so the revert needs no caller
#   SR_BIN_DIR         where they are installed (default /var/lib/sshremedy/bin)
#   SR_RUN_DIR         where the token lives (default /run/sshremedy)
#   SR_LOCK_OWNER      the run holding the host lock (lock.sh): checked, and its lease extended
#                      to the window's end; the revert lets go of it
# The phase that arms (its shell, $$, and what runs under it) is recorded: a revert that fires
# first stops what is left of it, so nothing of the change is written after the revert. The
# armed id is also recorded under $SR_STATE_DIR/armed, with a boot hook (a systemd unit, or an
# rcS script where there is no systemd) that puts the snapshot back when the host reboots inside
# the window: timers and waiters do not outlive a reboot.
# Prints: deadman=<id>, previous=disarmed|fired|absent (a job this one replaced), mechanism=systemd
# with unit=<timer>, or mechanism=detached with pid=<waiter>, then restore=<installed restore.sh>,
# window=<s> and deadline=<epoch s>. The token $SR_RUN_DIR/deadman-<id> records the same.
set -eu
command -v sr_die >/dev/null 2>&1 || . "$(dirname -- "$0")/lib.sh"

id=${SR_DEADMAN_ID:-}
snap=${SR_SNAPSHOT:-}
window=${SR_WINDOW:-}
bin=${SR_BIN_DIR:-/var/lib/sshremedy/bin}
sr_check_id SR_DEADMAN_ID "$id"
sr_check_count SR_WINDOW "$window"
# These paths travel as systemd properties: keep them to characters systemd takes literally.
owner=${SR_LOCK_OWNER:-}
for v in "SR_SNAPSHOT=$snap" "SR_BIN_DIR=$bin" "SR_RUN_DIR=$SR_RUN_DIR" "SR_STATE_DIR=$SR_STATE_DIR" ${owner:+"SR_LOCK_OWNER=/$owner"}; do
    sr_check_path "${v%%=*}" "${v#*=}"
    case ${v#*=} in *[!A-Za-z0-9/._-]*) sr_die "${v%%=*} may hold only letters, digits and / . _ -: got '${v#*=}'" ;; esac
done
[ -f "$snap/manifest" ] || sr_die "$snap is not a snapshot (no manifest)"
[ -n "${SR_RESTORE_SCRIPT:-}" ] && [ -n "${SR_LIB_SCRIPT:-}" ] ||
    sr_die "SR_RESTORE_SCRIPT and SR_LIB_SCRIPT must hold the texts of restore.sh and lib.sh"

# Each file is checked and renamed into place whole: a revert must never run half a script.
install_script() {
    mkdir -p -m 0700 -- "$bin"
    t=$(mktemp "$bin/.$1.XXXXXX")
    printf '%s' "$2" >"$t"
    sh -n "$t" || { rm -f -- "$t"; sr_die "the text given for $1 is not a valid sh script"; }
    chmod 0700 "$t"
    mv -f -- "$t" "$bin/$1"
}
install_script lib.sh "$SR_LIB_SCRIPT"
install_script restore.sh "$SR_RESTORE_SCRIPT"

if [ -n "$owner" ]; then
    sr_lock_read
    [ "$sr_lock_owner" = "$owner" ] ||
        sr_die "this run no longer holds the host's lock (${sr_lock_owner:+held by $sr_lock_owner}${sr_lock_owner:-nobody holds it}): nothing was changed"
    sr_lock_write "$owner" "$((window + 30))" "$sr_lock_since" armed
fi

# The boot hook: reverts what is still armed when the host starts, before sshd and the firewall.
boot_script='set -eu
. /var/lib/sshremedy/bin/lib.sh
for rec in "$SR_STATE_DIR"/armed/*; do
    [ -f "$rec" ] || continue
    case $rec in *.fired) continue ;; esac
    snap=$(sed -n "s/^snapshot=//p" "$rec")
    owner=$(sed -n "s/^lock_owner=//p" "$rec")
    if [ -f "$snap/manifest" ]; then
        SR_SNAPSHOT=$snap SR_RESTORE_BOOT=yes SR_LOCK_OWNER=$owner /bin/sh /var/lib/sshremedy/bin/restore.sh || true
    fi
    mv -f -- "$rec" "$rec.fired"
done'
case $bin in
    /var/lib/sshremedy/bin) install_script boot-revert.sh "$boot_script" ;;
esac
if [ "$bin" = /var/lib/sshremedy/bin ] && sr_systemd_booted && [ -d /etc/systemd/system ]; then
    unit_file=/etc/systemd/system/sshremedy-boot-revert.service
    unit_text='[Unit]
Description=sshremedy: put back changes a reboot cut off before they were verified
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target ssh.service sshd.service ssh.socket sshd.socket nftables.service firewalld.service netfilter-persistent.service iptables.service ip6tables.service
ConditionDirectoryNotEmpty=/var/lib/sshremedy/armed

[Service]
Type=oneshot
ExecStart=/bin/sh /var/lib/sshremedy/bin/boot-revert.sh

[Install]
WantedBy=sysinit.target'
    if [ "$(cat -- "$unit_file" 2>/dev/null)" != "$unit_text" ]; then
        printf '%s\n' "$unit_text" >"$unit_file.tmp"
        mv -f -- "$unit_file.tmp" "$unit_file"
    fi
    mkdir -p /etc/systemd/system/sysinit.target.wants
    ln -sfn ../sshremedy-boot-revert.service /etc/systemd/system/sysinit.target.wants/sshremedy-boot-revert.service
elif [ "$bin" = /var/lib/sshremedy/bin ] && [ -d /etc/init.d ] && [ -d /etc/rcS.d ]; then
    init_text='#!/bin/sh
### BEGIN INIT INFO
# Provides:          sshremedy-boot-revert
# Required-Start:    $local_fs
# Required-Stop:
# X-Start-Before:    ssh sshd
# Default-Start:     S
# Default-Stop:
# Short-Description: sshremedy: put back changes a reboot cut off before they were verified
### END INIT INFO
[ "${1:-start}" = start ] || exit 0
exec /bin/sh /var/lib/sshremedy/bin/boot-revert.sh'
    if [ "$(cat -- /etc/init.d/sshremedy-boot-revert 2>/dev/null)" != "$init_text" ]; then
        printf '%s\n' "$init_text" >/etc/init.d/sshremedy-boot-revert.tmp
        chmod 0755 /etc/init.d/sshremedy-boot-revert.tmp
        mv -f -- /etc/init.d/sshremedy-boot-revert.tmp /etc/init.d/sshremedy-boot-revert
    fi
    ln -sfn ../init.d/sshremedy-boot-revert /etc/rcS.d/S01sshremedy-boot-revert
fi

sr_deadman_stop "$id"
previous=$sr_deadman_state

mkdir -p -m 0700 -- "$SR_RUN_DIR"
token=$SR_RUN_DIR/deadman-$id
# This phase's shell: the steps after this one run under it.
apply="apply_pid=$$
apply_start=$(sr_proc_start "$$")
lock_owner=$owner"
mkdir -p -m 0700 -- "$SR_STATE_DIR/armed"
rm -f -- "$SR_STATE_DIR/armed/$id.fired"
printf 'snapshot=%s\nlock_owner=%s\n' "$snap" "$owner" >"$SR_STATE_DIR/armed/.$id.$$"
mv -f -- "$SR_STATE_DIR/armed/.$id.$$" "$SR_STATE_DIR/armed/$id"
unit=sshremedy-deadman-$id
deadline=$(($(date +%s) + window))
printf 'deadman=%s\nprevious=%s\n' "$id" "$previous"
if sr_systemd_booted; then
    printf 'mechanism=systemd\nsnapshot=%s\nrestore=%s\ndeadline=%s\n%s\n' "$snap" "$bin/restore.sh" "$deadline" "$apply" >"$token"
    # Timers fire up to AccuracySec late, one minute unless told: far longer than the window.
    if ! systemd-run --quiet --unit="$unit" --description="sshremedy dead-man revert $id" \
        --on-active="${window}s" --timer-property=AccuracySec=100ms \
        --setenv=SR_SNAPSHOT="$snap" --setenv=SR_DEADMAN_TOKEN="$token" --setenv=SR_LOCK_OWNER="$owner" \
        --setenv=SR_STATE_DIR="$SR_STATE_DIR" \
        /bin/sh "$bin/restore.sh" >&2; then
        rm -f -- "$token"
        sr_die "systemd-run could not arm $unit"
    fi
    printf 'mechanism=systemd\nunit=%s.timer\n' "$unit"
else
    printf 'mechanism=detached\nsnapshot=%s\nrestore=%s\ndeadline=%s\n%s\n' "$snap" "$bin/restore.sh" "$deadline" "$apply" >"$token"
    rm -f -- "$token.pid"
    # A session of its own: no hangup reaches it when the SSH session or the caller goes.
    detach=nohup
    command -v setsid >/dev/null 2>&1 && detach=setsid
    log=${bin%/*}/deadman.log
    # The waiter is named after the unit ($0), so a disarm can tell it from a reused pid.
    SR_SNAPSHOT=$snap SR_DEADMAN_TOKEN=$token SR_LOCK_OWNER=$owner SR_STATE_DIR=$SR_STATE_DIR "$detach" /bin/sh -c \
        'echo "$$" >"$1.tmp" && mv -f "$1.tmp" "$1" && sleep "$2" && exec /bin/sh "$3"' \
        "$unit" "$token.pid" "$window" "$bin/restore.sh" </dev/null >>"$log" 2>&1 &
    i=0
    until [ -s "$token.pid" ]; do
        i=$((i + 1))
        [ "$i" -lt 50 ] || sr_die "the dead-man waiter did not start (see $log)"
        sr_nap
    done
    printf 'mechanism=detached\npid=%s\n' "$(cat -- "$token.pid")"
fi
printf 'restore=%s\nwindow=%s\ndeadline=%s\n' "$bin/restore.sh" "$window" "$deadline"
