# swap.sh: puts a staged file in place with one rename, keeping the owner, mode and SELinux
# context of the file it replaces, then has sshd take it up.
#
# Environment:
#   SR_STAGED       the staged file (the staged= line of stage-validate.sh)
#   SR_TARGET       the file it replaces (default /etc/ssh/sshd_config); a symlink's target is replaced
#   SR_SSHD_ACTION  reload (default: reload, or start sshd if it is down), restart, or none
# Prints: target=<real path>, changed=yes|no, owner=<uid>:<gid>, mode=<octal>,
# service_manager=, sshd_service=, and sshd=reloaded|restarted|none (none also when unchanged).
set -eu
command -v sr_die >/dev/null 2>&1 || . "$(dirname -- "$0")/lib.sh"

staged=${SR_STAGED:-}
target=${SR_TARGET:-/etc/ssh/sshd_config}
action=${SR_SSHD_ACTION:-reload}
sr_check_path SR_STAGED "$staged"
sr_check_path SR_TARGET "$target"
case $action in reload | restart | none) ;; *) sr_die "SR_SSHD_ACTION must be reload, restart or none: got '$action'" ;; esac
[ -f "$staged" ] || sr_die "nothing staged at $staged"
real=$(readlink -f -- "$target") || sr_die "cannot resolve $target"
sr_same_fs "$staged" "$real" ||
    sr_die "$staged is not on the file system of $real: it cannot be renamed into place atomically"

if [ -e "$real" ] && cmp -s -- "$staged" "$real"; then
    rm -f -- "$staged"
    changed=no
else
    sr_install_file "$staged" "$real"
    changed=yes
fi
case ${staged%/*} in
    */.sshremedy-stage*) rmdir -- "${staged%/*}" 2>/dev/null || true ;;
esac
printf 'target=%s\nchanged=%s\nowner=%s\nmode=%s\n' "$real" "$changed" "$(stat -c %u:%g -- "$real")" "$(stat -c %a -- "$real")"

sr_sshd_describe
[ "$changed" = yes ] || action=none
case $action in
    reload)
        sr_sshd_reload || sr_die "swapped $real but sshd did not reload ($SR_SSHD_MANAGER $SR_SSHD_SERVICE)"
        printf 'sshd=reloaded\n'
        ;;
    restart)
        sr_sshd_restart || sr_die "swapped $real but sshd did not restart ($SR_SSHD_MANAGER $SR_SSHD_SERVICE)"
        printf 'sshd=restarted\n'
        ;;
    none) printf 'sshd=none\n' ;;
esac
