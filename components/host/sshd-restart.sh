# sshd-restart.sh: the last step of a change: restarts sshd with the host's own service manager
# when a change needs it, and starts it when it is down in any case (a host under repair).
#
# Environment:
#   SR_RESTART  yes: restart; no: only start sshd if it is not running
# Prints: sshd=restarted|started|running
set -eu
sr_sshd_detect
if [ "${SR_RESTART:-no}" = yes ]; then
    sr_sshd_restart || sr_die "sshd did not restart ($SR_SSHD_MANAGER $SR_SSHD_SERVICE)"
    printf 'sshd=restarted\n'
elif sr_sshd_active; then
    printf 'sshd=running\n'
else
    sr_sshd_restart || sr_die "sshd did not start ($SR_SSHD_MANAGER $SR_SSHD_SERVICE)"
    printf 'sshd=started\n'
fi
