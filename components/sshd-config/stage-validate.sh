# stage-validate.sh: stages an sshd_config next to the live one and has sshd itself judge it,
# before anything live is touched.
#
# Environment:
#   SR_SSHD_CONFIG_TARGET   the live file it will replace (default /etc/ssh/sshd_config)
#   SR_STAGE_DIR            where it is staged (default .sshremedy-stage beside the target's real
#                           path: the same file system, so swap.sh can rename it into place)
#   SR_SSHD_CONFIG_CONTENT  when set, written to $SR_STAGE_DIR/sshd_config; else that file must exist
#   SR_CHECK_CONNECTION     optional `sshd -T -C` spec, e.g. user=alice,host=client,addr=198.18.0.1:
#                           the effective values are those for that connection (Match blocks applied)
# Prints: staged=<file>, target=<real target>, valid=yes|no, then on success the `sshd -T` output
# between the lines effective_begin and effective_end. Invalid: exit 1, sshd's message on stderr.
# Relative Include paths resolve against /etc/ssh, not the staged file's directory: staging
# elsewhere reads the same drop-ins as the live file.
set -eu
command -v sr_die >/dev/null 2>&1 || . "$(dirname -- "$0")/lib.sh"

target=${SR_SSHD_CONFIG_TARGET:-/etc/ssh/sshd_config}
sr_check_path SR_SSHD_CONFIG_TARGET "$target"
real=$(readlink -f -- "$target") || sr_die "cannot resolve $target"
stage=${SR_STAGE_DIR:-$(dirname -- "$real")/.sshremedy-stage}
sr_check_path SR_STAGE_DIR "$stage"
staged=$stage/sshd_config

if [ -n "${SR_SSHD_CONFIG_CONTENT+set}" ]; then
    (umask 077 && mkdir -p -- "$stage" && printf '%s' "$SR_SSHD_CONFIG_CONTENT" >"$staged")
fi
[ -f "$staged" ] || sr_die "nothing staged at $staged"
sr_same_fs "$staged" "$real" ||
    sr_die "$staged is not on the file system of $real: it could not be renamed into place atomically"
printf 'staged=%s\ntarget=%s\n' "$staged" "$real"

# A rejected file staged by this step goes again: nothing of a refused change stays on the host.
rejected() {
    printf 'valid=no\n'
    if [ -n "${SR_SSHD_CONFIG_CONTENT+set}" ]; then
        rm -f -- "$staged"
        case $stage in */.sshremedy-stage) rmdir -- "$stage" 2>/dev/null || true ;; esac
    fi
    sr_die "$1"
}
sshd=$(sr_sshd_bin) || rejected "no sshd binary to judge the staged config"
sr_sshd_check "$sshd" -t -f "$staged" || rejected "sshd -t rejects the staged config: $sr_msg"
set -- -T -f "$staged"
[ -z "${SR_CHECK_CONNECTION:-}" ] || set -- "$@" -C "$SR_CHECK_CONNECTION"
sr_sshd_check "$sshd" "$@" || rejected "sshd $* rejects the staged config: $sr_msg"
printf 'valid=yes\neffective_begin\n%s\neffective_end\n' "$sr_out"
