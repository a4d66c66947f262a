# hosts-access-probe.sh: reads /etc/hosts.allow and /etc/hosts.deny (hosts_access(5)) and
# whether sshd consults them at all (linked with libwrap). Changes nothing.
#
# Environment:
#   SR_HOSTS_ALLOW  the allow file (default /etc/hosts.allow)
#   SR_HOSTS_DENY   the deny file (default /etc/hosts.deny)
# Prints: allow=<base64 or "absent">, deny=<base64 or "absent">, sshd_libwrap=yes|no|unknown.
set -eu
allow=${SR_HOSTS_ALLOW:-/etc/hosts.allow}
deny=${SR_HOSTS_DENY:-/etc/hosts.deny}
sr_check_path SR_HOSTS_ALLOW "$allow"
sr_check_path SR_HOSTS_DENY "$deny"
for pair in "allow $allow" "deny $deny"; do
    key=${pair%% *}
    file=${pair#* }
    if [ -f "$file" ]; then
        printf '%s=%s\n' "$key" "$(sr_b64 <"$file")"
    else
        printf '%s=absent\n' "$key"
    fi
done
# OpenSSH dropped its own libwrap support in 6.7; a distribution's sshd still links it, or not.
if ! command -v ldd >/dev/null 2>&1; then
    printf 'sshd_libwrap=unknown\n'
elif ldd "$(sr_sshd_bin)" 2>/dev/null | grep -q 'libwrap\.so'; then
    printf 'sshd_libwrap=yes\n'
else
    printf 'sshd_libwrap=no\n'
fi
