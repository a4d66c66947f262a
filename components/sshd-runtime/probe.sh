# sshd-runtime-probe.sh: reads whether sshd can start and what a repair would need. Changes nothing.
#
# Environment:
#   SR_PAM_SERVICE    the PAM service file sshd uses (default /etc/pam.d/sshd)
#   SR_PACKAGE_DIRS   directories of package files for an offline reinstall, one a line
#   SR_SOURCES_FROM   declared known-good copies on the host, one a line
# Prints (a path always last on its line, so it may hold spaces):
#   sshd=<path>|absent, pkg_manager=dpkg|rpm|none, pam_security_dir=<dir>|none,
#   missing=<binary|library|pam-module|pam-config> <name> <path>, per thing sshd needs and lacks;
#   owner=<package> <path>, per missing path a package owns;
#   package=<package> <archive>|-, per owning package: its own version's file in SR_PACKAGE_DIRS;
#   package_missing=<package> <path>, per file of that package that is gone;
#   privsep_missing=<dir>, hostkey=present|absent <path>, source=present|absent <from>;
#   systemd: unit=<service> <enabled state> <ssh.socket enabled state>; with socket activation,
#   socket_unit=<socket> <active state>, socket_cat=<base64 of systemctl cat>, local_addr=<ip>.
set -eu
pam_service=${SR_PAM_SERVICE:-/etc/pam.d/sshd}

if command -v dpkg-query >/dev/null 2>&1 && [ -d /var/lib/dpkg/info ]; then
    pkg_manager=dpkg
elif command -v rpm >/dev/null 2>&1; then
    pkg_manager=rpm
else
    pkg_manager=none
fi
printf 'pkg_manager=%s\n' "$pkg_manager"

# On merged-/usr hosts /lib is /usr/lib, but the package database knows only one of the two names.
usr_twin() {
    case $1 in
        /usr/*) printf '%s\n' "${1#/usr}" ;;
        *) printf '/usr%s\n' "$1" ;;
    esac
}

owner_of_exact() {
    case $pkg_manager in
        dpkg) dpkg-query -S "$1" 2>/dev/null | grep -v '^diversion ' | head -n 1 | sed 's/: \/.*//; s/,.*//' ;;
        rpm) rpm -qf --qf '%{NAME}\n' "$1" 2>/dev/null | head -n 1 ;;
        none) ;;
    esac
}

owner_of() {
    o=$(owner_of_exact "$1") || o=
    [ -n "$o" ] || o=$(owner_of_exact "$(usr_twin "$1")") || o=
    printf '%s' "$o"
}

# The file name of the installed version's package, as apt's cache and rpm repositories name it.
archive_name() {
    case $pkg_manager in
        dpkg) dpkg-query -W -f '${Package}_${Version}_${Architecture}.deb' "$1" | sed 's/:/%3a/' ;;
        rpm) rpm -q --qf '%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm\n' "$1" | head -n 1 ;;
    esac
}

package_files() {
    case $pkg_manager in
        dpkg) dpkg-query -L "$1" ;;
        rpm) rpm -ql "$1" ;;
    esac
}

# A package may be reported more than once (the PAM walk runs in subshells): readers dedupe.
report_package() {
    name=$(archive_name "$1")
    archive=-
    printf '%s\n' "${SR_PACKAGE_DIRS:-}" | while IFS= read -r dir; do
        [ -n "$dir" ] && [ -f "$dir/$name" ] && printf '%s/%s\n' "$dir" "$name"
    done | head -n 1 >"$tmp.pkg"
    [ ! -s "$tmp.pkg" ] || archive=$(cat -- "$tmp.pkg")
    printf 'package=%s %s\n' "$1" "$archive"
    package_files "$1" | while IFS= read -r f; do
        case $f in /.) continue ;; /*) ;; *) continue ;; esac
        [ -e "$f" ] || [ -L "$f" ] || printf 'package_missing=%s %s\n' "$1" "$f"
    done
}

# $1 kind, $2 name, $3 path: one missing thing and, when a package owns it, that package.
report_missing() {
    printf 'missing=%s %s %s\n' "$1" "$2" "$3"
    [ "$pkg_manager" != none ] || return 0
    pkg=$(owner_of "$3")
    [ -n "$pkg" ] || return 0
    printf 'owner=%s %s\n' "$pkg" "$3"
    report_package "$pkg"
}

tmp=$(mktemp)
trap 'rm -f -- "$tmp" "$tmp.pkg" "$tmp.walk"' EXIT

sshd=$(command -v sshd 2>/dev/null) || sshd=
for b in /usr/sbin/sshd /usr/local/sbin/sshd; do
    [ -n "$sshd" ] || [ ! -x "$b" ] || sshd=$b
done
printf 'sshd=%s\n' "${sshd:-absent}"
[ -n "$sshd" ] || report_missing binary sshd /usr/sbin/sshd

# Where the libraries ldd did find live: the first of them that a package owns is where a missing
# one belongs. libpam's directory also holds PAM's modules, in security/ (Linux-PAM's default).
lib_dirs=
libpam_dir=
if [ -n "$sshd" ] && command -v ldd >/dev/null 2>&1; then
    ldd "$sshd" 2>/dev/null >"$tmp" || true
    lib_dirs=$(awk '$2 == "=>" && $3 ~ /^\// { sub(/\/[^\/]*$/, "", $3); if (!seen[$3]++) print $3 }' "$tmp")
    libpam_dir=$(awk '$1 ~ /^libpam\.so/ && $3 ~ /^\// { sub(/\/[^\/]*$/, "", $3); print $3; exit }' "$tmp")
    for lib in $(awk '$2 == "=>" && $3 == "not" { print $1 }' "$tmp"); do
        path=
        for dir in $lib_dirs /lib64 /usr/lib64 /lib /usr/lib; do
            [ -n "$path" ] || [ -z "$(owner_of "$dir/$lib")" ] || path=$dir/$lib
        done
        [ -n "$path" ] || path=${lib_dirs%%"$sr_nl"*}/$lib
        report_missing library "$lib" "$path"
    done
fi

security_dir=
for dir in ${libpam_dir:+"$libpam_dir/security"} /lib/*-linux-gnu*/security /usr/lib/*-linux-gnu*/security \
    /usr/lib64/security /lib64/security /lib/security /usr/lib/security; do
    [ -n "$security_dir" ] || [ ! -d "$dir" ] || security_dir=$dir
done
printf 'pam_security_dir=%s\n' "${security_dir:-none}"

# The modules a PAM file names, following @include and include/substack (pam.conf(5)). A line
# whose type starts with '-' is skipped by PAM when its module is missing: not a fault.
pam_entries() {
    awk '{ sub(/#.*/, "") }
        NF == 0 { next }
        $1 == "@include" { print "include " $2; next }
        substr($1, 1, 1) == "-" { next }
        {
            i = 2; control = $2
            if (substr(control, 1, 1) == "[") { while (i < NF && $i !~ /\]$/) i++ }
            i++
            if (control == "include" || control == "substack") print "include " $i
            else if ($i != "") print "module " $i
        }' "$1"
}

pam_seen=
pam_walk() {
    case "$sr_nl$pam_seen$sr_nl" in *"$sr_nl$1$sr_nl"*) return 0 ;; esac
    pam_seen="$pam_seen$sr_nl$1"
    if [ ! -f "$1" ]; then
        report_missing pam-config "${1##*/}" "$1"
        return 0
    fi
    # Read whole before recursing: the walk reuses the shell's variables.
    entries=$(pam_entries "$1")
    printf '%s\n' "$entries" | while read -r what name; do
        case $what in
            include)
                case $name in /*) ;; *) name=/etc/pam.d/$name ;; esac
                printf '%s\n' "$name"
                ;;
            module)
                case $name in /*) module=$name ;; *) module=$security_dir/$name ;; esac
                [ -e "$module" ] || printf '!%s\n' "$module"
                ;;
        esac
    done >"$tmp.walk"
    walk=$(cat -- "$tmp.walk")
    rm -f -- "$tmp.walk"
    printf '%s\n' "$walk" | while IFS= read -r item; do
        case $item in
            '') ;;
            '!'*) report_missing pam-module "${item##*/}" "${item#!}" ;;
            *) pam_walk "$item" ;;
        esac
    done
}
[ ! -f "$pam_service" ] || [ -z "$security_dir" ] || pam_walk "$pam_service"

# sshd -T says what is wrong before it loads anything, and lists the host keys when it can load one.
keys=
if [ -n "$sshd" ]; then
    if out=$("$sshd" -T 2>&1); then
        keys=$(printf '%s\n' "$out" | sed -n 's/^hostkey //p')
    else
        case $out in
            *"no hostkeys available"*)
                # sshd checks its privilege separation directory only after it has a host key:
                # lend it a throwaway one to hear about the directory too.
                lent=$(mktemp -d)
                if ssh-keygen -q -t ed25519 -N '' -f "$lent/key" </dev/null >/dev/null 2>&1; then
                    out=$("$sshd" -T -h "$lent/key" 2>&1) || true
                fi
                rm -rf -- "$lent"
                ;;
        esac
        case $out in
            *"Missing privilege separation directory: /"*)
                dir=${out##*Missing privilege separation directory: }
                dir=${dir%%"$sr_nl"*}
                printf 'privsep_missing=%s\n' "${dir%"$sr_cr"}"
                ;;
        esac
    fi
fi
if [ -z "$keys" ]; then
    keys=$(cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/*.conf 2>/dev/null |
        awk 'tolower($1) == "hostkey" && $2 ~ /^\// { print $2 }')
fi
[ -n "$keys" ] || keys="/etc/ssh/ssh_host_rsa_key$sr_nl/etc/ssh/ssh_host_ecdsa_key$sr_nl/etc/ssh/ssh_host_ed25519_key"
printf '%s\n' "$keys" | while IFS= read -r key; do
    if [ -s "$key" ]; then printf 'hostkey=present %s\n' "$key"; else printf 'hostkey=absent %s\n' "$key"; fi
done

printf '%s\n' "${SR_SOURCES_FROM:-}" | while IFS= read -r from; do
    [ -n "$from" ] || continue
    if [ -e "$from" ]; then printf 'source=present %s\n' "$from"; else printf 'source=absent %s\n' "$from"; fi
done

# Whether sshd starts with the host: its unit enabled, or the socket that activates it.
sr_sshd_detect
if [ "$SR_SSHD_MANAGER" = systemd ]; then
    state=$(systemctl is-enabled "$SR_SSHD_SERVICE" 2>/dev/null) || true
    socket=$(systemctl is-enabled ssh.socket 2>/dev/null) || true
    printf 'unit=%s %s %s\n' "$SR_SSHD_SERVICE" "${state:-unknown}" "${socket:-absent}"
fi
# Socket activation: the socket unit decides where sshd listens (its Port and ListenAddress do
# not count). Its files as systemd reads them, and the addresses this host holds.
if sock=$(sr_sshd_socket); then
    printf 'socket_unit=%s %s\n' "$sock" "$(systemctl is-active "$sock" 2>/dev/null || true)"
    printf 'socket_cat=%s\n' "$(systemctl cat "$sock" 2>/dev/null | sr_b64)"
    ip -o addr show 2>/dev/null | awk '{ split($4, a, "/"); print "local_addr=" a[1] }'
fi
