# probe.sh: reads what the sshd_config pipeline compares against, in one round trip: the live
# sshd_config, every file its Include lines name, and whether sshd runs. Changes nothing.
#
# Environment:
#   SR_SSHD_CONFIG_TARGET  the live file (default /etc/ssh/sshd_config)
#   SR_LOGIN_USER          optional: the user who must get in; adds login_groups= (id -Gn) and
#                          one address= line per address the host holds
#   SR_CONNECT             optional: the verifying connection's -C spec; adds effective=<base64 of
#                          sshd -T -C> when sshd can parse its configuration
# Prints: config=<base64 or "absent">, dropin=<base64 path> <base64 content> per included file,
# sshd_t=<base64 of the lines sshd -t refuses>, sshd_t_unavailable=<why> when sshd cannot run,
# then sshd_active=yes|no and the service_manager= / sshd_service= lines of sr_sshd_describe.
set -eu
target=${SR_SSHD_CONFIG_TARGET:-/etc/ssh/sshd_config}
if [ -f "$target" ]; then
    printf 'config=%s\n' "$(sr_b64 <"$target")"
    # Include takes globs, relative to /etc/ssh (sshd_config(5)); the glob is expanded on purpose.
    grep -i '^[[:space:]]*include[[:space:]]' "$target" | while read -r _ patterns; do
        for pattern in $patterns; do
            case $pattern in /*) ;; *) pattern=/etc/ssh/$pattern ;; esac
            for f in $pattern; do
                [ -f "$f" ] || continue
                printf 'dropin=%s %s\n' "$(printf '%s' "$f" | sr_b64)" "$(sr_b64 <"$f")"
            done
        done
    done
    # What sshd itself says of the live file: lines it cannot parse are named by number, as
    # "<file>: line N:" or "<file> line N:" depending on the message.
    if sshd=$(sr_sshd_bin 2>/dev/null); then
        sr_t=$("$sshd" -t -f "$target" 2>&1 | tr -d '\r') || true
        printf 'sshd_t=%s\n' "$(printf '%s\n' "$sr_t" | grep -E '^'"$target"':? line [0-9]+: ' | sr_b64)"
        # sshd that cannot even load (a library missing) checks nothing: the plan then looks at
        # the keywords itself, so a bad line behind the missing library is not missed.
        case $sr_t in
            *"error while loading shared libraries"*)
                printf 'sshd_t_unavailable=%s\n' "$(printf '%s\n' "$sr_t" | head -n 1 | sr_b64)" ;;
        esac
    fi
else
    printf 'config=absent\n'
fi
# Which distribution's defaults a missing file is rewritten from.
if [ -r /etc/os-release ]; then
    printf 'os_id=%s\nos_version=%s\n' "$(. /etc/os-release && printf '%s' "${ID:-}")" "$(. /etc/os-release && printf '%s' "${VERSION_ID:-}")"
fi
# sshd's own answer for the verifying connection: Match blocks and drop-ins applied.
if [ -n "${SR_CONNECT:-}" ] && sshd=$(sr_sshd_bin 2>/dev/null) && sr_sshd_check "$sshd" -T -C "$SR_CONNECT"; then
    printf 'effective=%s\n' "$(printf '%s\n' "$sr_out" | sr_b64)"
fi
if [ -n "${SR_LOGIN_USER:-}" ]; then
    printf 'login_groups=%s\n' "$(id -Gn -- "$SR_LOGIN_USER" 2>/dev/null || true)"
    ip -o addr show 2>/dev/null | awk '{ split($4, a, "/"); print "address=" a[1] }' || true
fi
sr_sshd_detect
if sr_sshd_active; then printf 'sshd_active=yes\n'; else printf 'sshd_active=no\n'; fi
sr_sshd_describe
