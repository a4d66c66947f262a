# account-probe.sh: reads what makes an account unusable for a login: the account itself, its
# login shell, its shadow entry (lock, expiry, password aging), /etc/nologin and /var/run/nologin,
# and whether sshd runs with PAM (which decides what a lock and what /var/run/nologin do).
# Changes nothing.
#
# Environment:
#   SR_USER   the login user
#   SR_SHELL  the declared login shell, when one is declared (checked, not set)
# Prints:
#   account=present|absent; uid=, gid=, home=, shell= (getent passwd; shell as written, may be empty)
#   shell_present=yes|no, shell_executable=yes|no, shell_listed=yes|no (in /etc/shells), for the
#     shell sshd runs: the passwd field, or /bin/sh when it is empty
#   declared_shell_executable=yes|no, declared_shell_listed=yes|no (only with SR_SHELL)
#   suggest_shell=<a login shell /etc/shells lists and the host has: /bin/bash first>
#   shadow=present|absent; shadow_locked=yes|no (the password field starts with '!');
#   shadow_lock_only=yes|no (nothing but '!'s: unlocking would leave it empty);
#   last_change=, max_days=, inactive_days=, expiry_days= (shadow fields 3, 5, 7, 8; empty when unset);
#   today=<days since the epoch>; expired=yes|no (expiry day reached, as pam_unix counts)
#   usepam=yes|no|unknown (sshd -T for this user's connection; unknown when sshd cannot tell)
#   nologin=yes|no, nologin_text=<base64 of its first line>; run_nologin=yes|no, run_nologin_text=
set -eu
user=${SR_USER:-}
case $user in
    '' | -* | *[!A-Za-z0-9._$-]*) sr_die "SR_USER must be a user name: got '$user'" ;;
esac

listed() {
    [ -f /etc/shells ] && grep -qxF -- "$1" /etc/shells
}
# What sshd checks before it runs a shell: a regular file with an execute bit (root passes -x then).
runnable() {
    [ -f "$1" ] && [ -x "$1" ]
}
yn() {
    if "$@"; then printf yes; else printf no; fi
}

if entry=$(getent passwd "$user"); then
    printf 'account=present\n'
    # name:password:uid:gid:gecos:home:shell; home and shell hold no ':'.
    printf '%s\n' "$entry" | awk -F: '{ printf "uid=%s\ngid=%s\nhome=%s\nshell=%s\n", $3, $4, $6, $7 }'
    shell=$(printf '%s\n' "$entry" | cut -d: -f7)
    # sshd runs /bin/sh for an empty shell field (_PATH_BSHELL).
    [ -n "$shell" ] || shell=/bin/sh
    printf 'shell_present=%s\n' "$(yn test -e "$shell")"
    printf 'shell_executable=%s\n' "$(yn runnable "$shell")"
    printf 'shell_listed=%s\n' "$(yn listed "$shell")"
else
    printf 'account=absent\n'
fi

if [ -n "${SR_SHELL:-}" ]; then
    sr_check_path SR_SHELL "$SR_SHELL"
    printf 'declared_shell_executable=%s\n' "$(yn runnable "$SR_SHELL")"
    printf 'declared_shell_listed=%s\n' "$(yn listed "$SR_SHELL")"
fi

suggest=
if listed /bin/bash && runnable /bin/bash; then
    suggest=/bin/bash
elif [ -f /etc/shells ]; then
    while IFS= read -r s; do
        case $s in
            /*/nologin | /*/false | /*/rbash | */git-shell) continue ;;
            /*) runnable "$s" || continue ;;
            *) continue ;;
        esac
        suggest=$s
        break
    done </etc/shells
fi
printf 'suggest_shell=%s\n' "$suggest"

today=$(( $(date +%s) / 86400 ))
printf 'today=%s\n' "$today"
if sp=$(getent shadow "$user" 2>/dev/null); then
    printf 'shadow=present\n'
    pw=$(printf '%s\n' "$sp" | cut -d: -f2)
    locked=no
    only=no
    case $pw in
        '!'*)
            locked=yes
            [ -n "$(printf '%s\n' "$pw" | sed 's/^!*//')" ] || only=yes
            ;;
    esac
    printf 'shadow_locked=%s\nshadow_lock_only=%s\n' "$locked" "$only"
    printf '%s\n' "$sp" | awk -F: -v today="$today" '{
        printf "last_change=%s\nmax_days=%s\ninactive_days=%s\nexpiry_days=%s\n", $3, $5, $7, $8
        # pam_unix: expired once today reaches the expiry day; empty (or -1) means never.
        printf "expired=%s\n", ($8 != "" && $8 + 0 >= 0 && today + 0 >= $8 + 0) ? "yes" : "no"
    }'
else
    printf 'shadow=absent\n'
fi

usepam=unknown
if sshd=$(sr_sshd_bin 2>/dev/null) && sr_sshd_check "$sshd" -T -C "user=$user,host=127.0.0.1,addr=127.0.0.1"; then
    case $(printf '%s\n' "$sr_out" | awk 'tolower($1) == "usepam" { print tolower($2); exit }') in
        yes) usepam=yes ;;
        no) usepam=no ;;
    esac
fi
printf 'usepam=%s\n' "$usepam"

# /etc/nologin: pam_nologin and, without PAM, sshd itself. /var/run/nologin: pam_nologin only
# (systemd keeps it there while booting and before a scheduled shutdown). A host still booting
# is given up to 30 s to finish, so that file is not taken for a cause: it goes when boot ends.
if [ -e /var/run/nologin ] && command -v systemctl >/dev/null 2>&1; then
    n=0
    while [ -e /var/run/nologin ] && [ "$n" -lt 300 ]; do
        case $(systemctl is-system-running 2>/dev/null || true) in
            initializing | starting) sr_nap ;;
            *) break ;;
        esac
        n=$((n + 1))
    done
fi
for pair in "nologin /etc/nologin" "run_nologin /var/run/nologin"; do
    key=${pair%% *}
    file=${pair#* }
    if [ -e "$file" ]; then
        printf '%s=yes\n' "$key"
        printf '%s_text=%s\n' "$key" "$(head -n 1 -- "$file" 2>/dev/null | sr_b64)"
    else
        printf '%s=no\n' "$key"
    fi
done
