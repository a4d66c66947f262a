# selinux-apply.sh: sets SELinux's mode and relabels what the plan found mislabeled.
#
# Environment (each optional; empty means leave it):
#   SR_RUNTIME         enforcing|permissive: the mode to switch to now (setenforce)
#   SR_SELINUX_CONFIG  the config file to rewrite, with
#   SR_CONFIG_MODE     enforcing|permissive|disabled: its SELINUX= value from the next boot
#   SR_AUTORELABEL     yes: create /.autorelabel, so a boot that turns SELinux on from disabled
#                      relabels the file system before it enforces anything
#   SR_RELABEL         directories to relabel recursively (restorecon -R -v), one a line
# Prints runtime=<mode>, config=<mode>, autorelabel=/.autorelabel, relabeled=<dir>.
set -eu

case ${SR_RUNTIME:-} in
    '') ;;
    enforcing) setenforce 1 && printf 'runtime=enforcing\n' ;;
    permissive) setenforce 0 && printf 'runtime=permissive\n' ;;
    *) sr_die "SR_RUNTIME must be enforcing or permissive: got '$SR_RUNTIME'" ;;
esac

if [ -n "${SR_CONFIG_MODE:-}" ]; then
    case $SR_CONFIG_MODE in enforcing | permissive | disabled) ;; *) sr_die "bad SR_CONFIG_MODE '$SR_CONFIG_MODE'" ;; esac
    sr_check_path SR_SELINUX_CONFIG "$SR_SELINUX_CONFIG"
    # Red Hat's /etc/sysconfig/selinux is a link to the file: write the file, keep the link.
    target=$(readlink -f -- "$SR_SELINUX_CONFIG")
    new=$(mktemp "$target.sshremedy.XXXXXX")
    if grep -q '^[[:space:]]*SELINUX[[:space:]]*=' "$target"; then
        sed "s/^[[:space:]]*SELINUX[[:space:]]*=.*/SELINUX=$SR_CONFIG_MODE/" "$target" >"$new"
    else
        { cat -- "$target"; printf 'SELINUX=%s\n' "$SR_CONFIG_MODE"; } >"$new"
    fi
    sr_install_file "$new" "$target"
    printf 'config=%s\n' "$SR_CONFIG_MODE"
fi

if [ "${SR_AUTORELABEL:-}" = yes ]; then
    : >/.autorelabel
    printf 'autorelabel=/.autorelabel\n'
fi

printf '%s\n' "${SR_RELABEL:-}" | while IFS= read -r dir; do
    [ -n "$dir" ] || continue
    restorecon -R -v -- "$dir" </dev/null >&2
    printf 'relabeled=%s\n' "$dir"
done
