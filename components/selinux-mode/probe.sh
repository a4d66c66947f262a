# selinux-probe.sh: reads SELinux's run-time mode, its config file, and the labels of the declared
# users' ~/.ssh. Changes nothing.
#
# Environment:
#   SR_SELINUX_CONFIG  the config file (default /etc/selinux/config)
#   SR_USERS           users whose home and ~/.ssh must carry the policy's labels, one a line
# Prints selinux=absent|enforcing|permissive; config=absent or config=present <SELINUX value>;
# config_type=<SELINUXTYPE>; policy=present|absent (a policy file for that type is installed);
# then, only where SELinux runs: user_missing=<user>, ssh_dir=<user> <dir>, and
# mislabeled=<user> <path> for each path whose label is not the policy's.
set -eu
config=${SR_SELINUX_CONFIG:-/etc/selinux/config}

# No selinuxfs, no getenforce, or getenforce says Disabled: this kernel runs no SELinux now.
selinux=absent
if [ -e /sys/fs/selinux/enforce ] && sr_selinux_enabled; then
    case $(getenforce) in
        Enforcing) selinux=enforcing ;;
        Permissive) selinux=permissive ;;
    esac
fi
printf 'selinux=%s\n' "$selinux"

# The last assignment wins, as libselinux reads the file; quotes around the value are allowed.
value_of() {
    sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$config" | tail -n 1 | tr -d "\"' \t\r"
}
type=targeted
if [ -f "$config" ]; then
    printf 'config=present %s\n' "$(value_of SELINUX)"
    type=$(value_of SELINUXTYPE)
    [ -n "$type" ] || type=targeted
else
    printf 'config=absent\n'
fi
printf 'config_type=%s\n' "$type"
if [ -n "$type" ] && ls "/etc/selinux/$type/policy/policy."* >/dev/null 2>&1; then
    printf 'policy=present\n'
else
    printf 'policy=absent\n'
fi

[ "$selinux" != absent ] || exit 0

# matchpathcon -V: "<path> verified." or "<path> has context <is>, should be <want>".
check_label() {
    if command -v matchpathcon >/dev/null 2>&1; then
        case $(matchpathcon -V "$2" 2>&1) in
            *" has context "*) printf 'mislabeled=%s %s\n' "$1" "$2" ;;
        esac
    else
        restorecon -n -v "$2" 2>/dev/null | grep -q . && printf 'mislabeled=%s %s\n' "$1" "$2" || true
    fi
}

printf '%s\n' "${SR_USERS:-}" | while IFS= read -r user; do
    [ -n "$user" ] || continue
    home=$(getent passwd "$user" | cut -d: -f6) || home=
    if [ -z "$home" ]; then
        printf 'user_missing=%s\n' "$user"
        continue
    fi
    check_label "$user" "$home"
    [ -d "$home/.ssh" ] || continue
    printf 'ssh_dir=%s %s\n' "$user" "$home/.ssh"
    find "$home/.ssh" | while IFS= read -r p; do check_label "$user" "$p"; done
done
