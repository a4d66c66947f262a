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
for v in "SR_SNAPSHOT=$snap" "SR_BIN_DIR=$bin" "SR_RUN_DIR=$SR_RUN_DIR"; do
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

sr_deadman_stop "$id"
previous=$sr_deadman_state

mkdir -p -m 0700 -- "$SR_RUN_DIR"
token=$SR_RUN_DIR/deadman-$id
unit=sshremedy-deadman-$id
deadline=$(($(date +%s) + window))
printf 'deadman=%s\nprevious=%s\n' "$id" "$previous"
if sr_systemd_booted; then
    printf 'mechanism=systemd\nsnapshot=%s\nrestore=%s\ndeadline=%s\n' "$snap" "$bin/restore.sh" "$deadline" >"$token"
    # Timers fire up to AccuracySec late, one minute unless told: far longer than the window.
    if ! systemd-run --quiet --unit="$unit" --description="sshremedy dead-man revert $id" \
        --on-active="${window}s" --timer-property=AccuracySec=100ms \
        --setenv=SR_SNAPSHOT="$snap" --setenv=SR_DEADMAN_TOKEN="$token" \
        /bin/sh "$bin/restore.sh" >&2; then
        rm -f -- "$token"
        sr_die "systemd-run could not arm $unit"
    fi
    printf 'mechanism=systemd\nunit=%s.timer\n' "$unit"
else
    printf 'mechanism=detached\nsnapshot=%s\nrestore=%s\ndeadline=%s\n' "$snap" "$bin/restore.sh" "$deadline" >"$token"
    rm -f -- "$token.pid"
    # A session of its own: no hangup reaches it when the SSH session or the caller goes.
    detach=nohup
    command -v setsid >/dev/null 2>&1 && detach=setsid
    log=${bin%/*}/deadman.log
    # The waiter is named after the unit ($0), so a disarm can tell it from a reused pid.
    SR_SNAPSHOT=$snap SR_DEADMAN_TOKEN=$token "$detach" /bin/sh -c \
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
