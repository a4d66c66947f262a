# sshd-runtime-apply.sh: puts back what sshd needs to start, as the plan decided from the probe.
#
# Environment (lists one item a line; all optional):
#   SR_SOURCES     "<path><TAB><from>": copy a known-good file (cp -a: owner, mode, a link as a
#                  link, and a relative link's target beside it when that is missing too)
#   SR_ARCHIVES    package files to reinstall offline (dpkg -i / rpm -i --replacepkgs)
#   SR_REINSTALL   packages to reinstall from the host's repositories (apt-get / dnf / yum)
#   SR_PRIVSEP     the privilege separation directory sshd says is missing
#   SR_HOSTKEYS    the host keys sshd is configured with, when it can load none of them
#   SR_ENABLE      the sshd unit to enable, so sshd starts with the host (systemd)
#   SR_SOCKET_DROPIN  socket activation: the drop-in that sets where the socket listens, written
#                  from SR_SOCKET_LISTEN; units reloaded and the socket made anew
#   SR_SOCKET_RENEW   yes: only make the (failed) socket anew
#   SR_EXPECT      paths that must exist afterwards: the step fails if one does not
# Prints copied=<path>, installed=<archive>, reinstalled=<package>, privsep=<dir>,
# hostkeys=generated and host_key_generated=<type> <base64 key> per new key, restored=<path> per expected path.
set -eu
tab=$(printf '\t')

# Runs $2 on each line of $1. Its stdin is /dev/null: this script itself arrives on the shell's
# stdin, and a package tool reading it would swallow the rest.
each() {
    printf '%s\n' "$1" | while IFS= read -r item; do
        [ -z "$item" ] || "$2" "$item" </dev/null
    done
}

copy_source() {
    path=${1%%"$tab"*}
    from=${1#*"$tab"}
    [ -e "$from" ] || [ -L "$from" ] || sr_die "declared source $from for $path does not exist"
    mkdir -p -- "$(dirname -- "$path")"
    cp -a -- "$from" "$path"
    if [ -L "$from" ]; then
        link=$(readlink -- "$from")
        case $link in
            /*) ;;
            *) [ -e "$path" ] || cp -a -- "$(dirname -- "$from")/$link" "$(dirname -- "$path")/$link" ;;
        esac
    fi
    printf 'copied=%s\n' "$path"
}

# Package tools talk on stdout; ours carries key=value lines only.
install_archive() {
    if command -v dpkg >/dev/null 2>&1 && [ "${1%.deb}" != "$1" ]; then
        DEBIAN_FRONTEND=noninteractive dpkg -i --force-confdef --force-confold -- "$1" >&2
    else
        rpm -i --replacepkgs -- "$1" >&2
    fi
    printf 'installed=%s\n' "$1"
}

reinstall() {
    if command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y --reinstall \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -- "$1" >&2
    elif command -v dnf >/dev/null 2>&1; then
        dnf reinstall -y -- "$1" >&2
    elif command -v yum >/dev/null 2>&1; then
        yum reinstall -y -- "$1" >&2
    else
        sr_die "no apt-get, dnf or yum to reinstall $1 with; declare a package directory or a source"
    fi
    printf 'reinstalled=%s\n' "$1"
}

each "${SR_SOURCES:-}" copy_source
# A library copied in by hand is found by path, but the loader's cache should name it too.
[ -z "${SR_SOURCES:-}" ] || ! command -v ldconfig >/dev/null 2>&1 || ldconfig
each "${SR_ARCHIVES:-}" install_archive
each "${SR_REINSTALL:-}" reinstall

if [ -n "${SR_PRIVSEP:-}" ]; then
    sr_check_path SR_PRIVSEP "$SR_PRIVSEP"
    mkdir -p -m 0755 -- "$SR_PRIVSEP"
    printf 'privsep=%s\n' "$SR_PRIVSEP"
fi

if [ -n "${SR_HOSTKEYS:-}" ]; then
    # -A makes every default type that is missing, in /etc/ssh; a key configured elsewhere is
    # made by name (its type read from it, ed25519 when it names none).
    ssh-keygen -A </dev/null >&2
    have=$(printf '%s\n' "$SR_HOSTKEYS" | while IFS= read -r key; do [ ! -s "$key" ] || echo yes; done)
    if [ -z "$have" ]; then
        key=${SR_HOSTKEYS%%"$sr_nl"*}
        case $key in *rsa*) type=rsa ;; *ecdsa*) type=ecdsa ;; *) type=ed25519 ;; esac
        ssh-keygen -q -t "$type" -N '' -f "$key" </dev/null >&2
    fi
    printf 'hostkeys=generated\n'
    # The new public keys, over the channel this step runs on: the verifying login pins them.
    printf '%s\n' "$SR_HOSTKEYS" | while IFS= read -r key; do
        [ -s "$key.pub" ] || continue
        awk 'NF >= 2 { print "host_key_generated=" $1 " " $2; exit }' "$key.pub"
    done
fi

if [ -n "${SR_ENABLE:-}" ]; then
    case $SR_ENABLE in *[!A-Za-z0-9@._-]*) sr_die "SR_ENABLE is not a unit name: '$SR_ENABLE'" ;; esac
    systemctl enable -- "$SR_ENABLE" </dev/null >&2
    printf 'enabled=%s\n' "$SR_ENABLE"
fi

if [ -n "${SR_SOCKET_DROPIN:-}" ]; then
    sr_check_path SR_SOCKET_DROPIN "$SR_SOCKET_DROPIN"
    mkdir -p -- "$(dirname -- "$SR_SOCKET_DROPIN")"
    sr_write_env SR_SOCKET_LISTEN "$SR_SOCKET_DROPIN"
    sr_units_changed
    printf 'socket=%s\n' "$SR_SOCKET_DROPIN"
elif [ "${SR_SOCKET_RENEW:-}" = yes ]; then
    sr_units_changed
    printf 'socket=renewed\n'
fi

expect() {
    [ -e "$1" ] || [ -L "$1" ] || sr_die "$1 is still missing after the repair"
    printf 'restored=%s\n' "$1"
}
each "${SR_EXPECT:-}" expect
