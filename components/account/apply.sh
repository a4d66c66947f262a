# account-apply.sh: makes an account usable for a login again, as far as the declaration allows:
# sets its login shell, unlocks its password entry, clears an account expiry date, removes the
# nologin files. Each fix runs only when its parameter is set, and each is checked afterwards
# (usermod reports some refusals on stderr and still exits 0).
#
# Environment:
#   SR_USER                the login user
#   SR_SHELL               the login shell to set (listed in /etc/shells and executable)
#   SR_UNLOCK              yes: the password field must not start with '!'
#   SR_EXPIRE_CLEAR        yes: no account expiry date (chage -E -1)
#   SR_REMOVE_NOLOGIN      yes: remove /etc/nologin
#   SR_REMOVE_RUN_NOLOGIN  yes: remove /var/run/nologin
# Prints: changed=shell <path>, changed=unlock, changed=expiry, changed=<nologin file>, one per fix.
set -eu
user=${SR_USER:-}
case $user in
    '' | -* | *[!A-Za-z0-9._$-]*) sr_die "SR_USER must be a user name: got '$user'" ;;
esac
getent passwd "$user" >/dev/null || sr_die "there is no account $user"

field() {
    getent shadow "$user" | cut -d: -f"$1"
}

if [ -n "${SR_SHELL:-}" ]; then
    sr_check_path SR_SHELL "$SR_SHELL"
    [ -f "$SR_SHELL" ] && [ -x "$SR_SHELL" ] || sr_die "$SR_SHELL is not an executable file"
    grep -qxF -- "$SR_SHELL" /etc/shells || sr_die "$SR_SHELL is not listed in /etc/shells"
    usermod -s "$SR_SHELL" "$user" >&2
    [ "$(getent passwd "$user" | cut -d: -f7)" = "$SR_SHELL" ] || sr_die "usermod -s $SR_SHELL $user did not set the shell"
    printf 'changed=shell %s\n' "$SR_SHELL"
fi

if [ "${SR_UNLOCK:-no}" = yes ]; then
    pw=$(field 2)
    while :; do
        case $pw in
            '!') # usermod -U (and passwd -u) refuse to leave an empty password field, and an empty
                 # field would let anyone in where empty passwords are allowed (PermitEmptyPasswords,
                 # su, the console). A key login only needs the field not to start with '!' (sshd
                 # without PAM refuses such accounts as locked): '*' is the least change, it matches
                 # no password, so password logins stay impossible, as they were.
                usermod -p '*' "$user" >&2 ;;
            '!'*) # `usermod -U` drops one '!' (`!!` from some useradds takes two rounds) and keeps
                  # the hash it locked, as passwd -u does; the hash never appears on a command line.
                usermod -U "$user" >&2 ;;
            *) break ;;
        esac
        now=$(field 2)
        [ "$now" != "$pw" ] || sr_die "could not unlock the password entry of $user"
        pw=$now
    done
    printf 'changed=unlock\n'
fi

if [ "${SR_EXPIRE_CLEAR:-no}" = yes ]; then
    chage -E -1 "$user" >&2
    [ -z "$(field 8)" ] || sr_die "chage -E -1 $user left the expiry date $(field 8)"
    printf 'changed=expiry\n'
fi

for pair in "${SR_REMOVE_NOLOGIN:-no} /etc/nologin" "${SR_REMOVE_RUN_NOLOGIN:-no} /var/run/nologin"; do
    [ "${pair%% *}" = yes ] || continue
    file=${pair#* }
    rm -f -- "$file"
    printf 'changed=%s\n' "$file"
done
