# deadman-disarm.sh: stops the revert deadman-arm.sh armed, once the change has been verified.
#
# Environment:
#   SR_DEADMAN_ID  the id it was armed with
#   SR_RUN_DIR     where the token lives (default /run/sshremedy)
# Prints: deadman=<id>, state=disarmed (stopped before it ran), absent (nothing armed under that
# id), or fired: the revert ran (this waits until it has finished) and the host is back on the
# snapshot, so the change did not stay: exit 1.
set -eu
command -v sr_die >/dev/null 2>&1 || . "$(dirname -- "$0")/lib.sh"

id=${SR_DEADMAN_ID:-}
sr_check_id SR_DEADMAN_ID "$id"
sr_check_path SR_RUN_DIR "$SR_RUN_DIR"
sr_deadman_stop "$id"
printf 'deadman=%s\nstate=%s\n' "$id" "$sr_deadman_state"
[ "$sr_deadman_state" != fired ] ||
    sr_die "the dead-man revert $id already ran: the host is back on its snapshot"
