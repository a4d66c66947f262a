# login-key/probe.sh: reads what decides whether sshd accepts the declared key for the login
# user, as sshd itself sees it. Changes nothing.
#
# Asks sshd for the connection's effective AuthorizedKeysFile and StrictModes (`sshd -T -C`:
# Match blocks and drop-ins applied), expands its tokens (%h %u %U %%) from the account
# database, then reads each file and every directory StrictModes checks.
#
# Environment:
#   SR_USER     the login user
#   SR_KEY      the declared public key, "<type> <base64>"
#   SR_CONNECT  the -C spec of the verifying connection (user=…,host=…,addr=…,laddr=…,lport=…)
# Prints: account=present|absent; uid=, gid=, home=; akf_source=sshd|default (default when sshd
# cannot parse its configuration); strictmodes=yes|no; akf=<base64 path> <exists yes|no> <uid>
# <gid> <mode> <haskey yes|no> for each file sshd reads, in order; sm=<base64 path> <uid> <gid>
# <mode> for each directory StrictModes checks above each file, nearest first; private_group=yes|no
# and group_modes=debian|upstream (how this sshd's StrictModes treats the user's own group);
# akc=<base64 command> <user> <offers the key: yes|no> when sshd also asks an AuthorizedKeysCommand.
set -eu
user=${SR_USER:-}
key=${SR_KEY:-}
[ -n "$user" ] || sr_die "SR_USER is not set"
[ -n "$key" ] || sr_die "SR_KEY is not set"
if ! entry=$(getent passwd -- "$user"); then
    printf 'account=absent\n'
    exit 0
fi
printf 'account=present\n'
uid=$(printf '%s\n' "$entry" | cut -d: -f3)
gid=$(printf '%s\n' "$entry" | cut -d: -f4)
home=$(printf '%s\n' "$entry" | cut -d: -f6)
printf 'uid=%s\ngid=%s\nhome=%s\n' "$uid" "$gid" "$home"
# Debian's OpenSSH lets StrictModes accept a group-writable path whose group is the user's own
# private group (no other members); upstream refuses it.
members=$(getent group -- "$gid" | cut -d: -f4)
if [ -z "$members" ] || [ "$members" = "$user" ]; then printf 'private_group=yes\n'; else printf 'private_group=no\n'; fi
if [ -f /etc/debian_version ]; then printf 'group_modes=debian\n'; else printf 'group_modes=upstream\n'; fi

files='.ssh/authorized_keys .ssh/authorized_keys2'
strict=yes
source=default
if sshd=$(sr_sshd_bin 2>/dev/null) && sr_sshd_check "$sshd" -T -C "${SR_CONNECT:-user=$user}"; then
    source=sshd
    files=$(printf '%s\n' "$sr_out" | awk 'tolower($1) == "authorizedkeysfile" { $1 = ""; sub(/^ /, ""); print; exit }')
    strict=$(printf '%s\n' "$sr_out" | awk 'tolower($1) == "strictmodes" { print $2; exit }')
    # Keys may also come from a command (a directory service): sshd asks it besides the files.
    akc=$(printf '%s\n' "$sr_out" | awk 'tolower($1) == "authorizedkeyscommand" { $1 = ""; sub(/^ /, ""); print; exit }')
    akc_user=$(printf '%s\n' "$sr_out" | awk 'tolower($1) == "authorizedkeyscommanduser" { print $2; exit }')
    if [ -n "$akc" ] && [ "$akc" != none ]; then
        # Asked as sshd asks it on every login (read-only by design): as its user, tokens expanded,
        # not through a shell, ten seconds at most. Does it offer the declared key?
        kt=${key%% *} kb=${key#* }
        set -f
        # shellcheck disable=SC2046 # argv split on white space, as sshd splits it
        set -- $(printf '%s\n' "$akc" | awk -v h="$home" -v u="$user" -v U="$uid" -v t="$kt" -v k="$kb" '{
            out = ""; s = $0
            while ((i = index(s, "%")) > 0) {
                c = substr(s, i + 1, 1); out = out substr(s, 1, i - 1)
                if (c == "h") out = out h; else if (c == "u") out = out u; else if (c == "U") out = out U
                else if (c == "t") out = out t; else if (c == "k") out = out k; else if (c == "%") out = out "%"; else out = out "%" c
                s = substr(s, i + 2)
            }
            print out s }')
        set +f
        has=no
        if [ -n "${akc_user:-}" ] && [ "$akc_user" != none ] && command -v runuser >/dev/null 2>&1 &&
            timeout 10 runuser -u "$akc_user" -- "$@" </dev/null 2>/dev/null | grep -qF -- "$kb"; then
            has=yes
        fi
        printf 'akc=%s %s %s\n' "$(printf '%s' "$akc" | sr_b64)" "${akc_user:-none}" "$has"
    fi
fi
printf 'akf_source=%s\nstrictmodes=%s\n' "$source" "${strict:-yes}"

key_type=${key%% *}
key_blob=${key#* }
set -f
for pattern in $files; do
    [ "$pattern" != none ] || continue
    # sshd_config(5) TOKENS for AuthorizedKeysFile; a relative path is taken from the home directory.
    p=$(printf '%s\n' "$pattern" | awk -v h="$home" -v u="$user" -v U="$uid" '{
        out = ""; s = $0
        while ((i = index(s, "%")) > 0) {
            c = substr(s, i + 1, 1); out = out substr(s, 1, i - 1)
            if (c == "h") out = out h; else if (c == "u") out = out u; else if (c == "U") out = out U; else if (c == "%") out = out "%"; else out = out "%" c
            s = substr(s, i + 2)
        }
        print out s }')
    case $p in /*) ;; *) p=$home/$p ;; esac
    if [ -f "$p" ]; then
        # A key line may start with options: the key is the type and blob as two fields anywhere on it.
        has=$(awk -v t="$key_type" -v b="$key_blob" '!/^[[:space:]]*#/ { for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == b) { print "yes"; exit } }' "$p")
        printf 'akf=%s yes %s %s %s\n' "$(printf '%s' "$p" | sr_b64)" "$(stat -c '%u %g %a' -- "$p")" "${has:-no}"
    else
        printf 'akf=%s no - - - no\n' "$(printf '%s' "$p" | sr_b64)"
    fi
    # StrictModes walks from the file's directory up to the home directory (to / outside it).
    d=${p%/*}
    while [ -n "$d" ]; do
        [ ! -d "$d" ] || printf 'sm=%s %s\n' "$(printf '%s' "$d" | sr_b64)" "$(stat -c '%u %g %a' -- "$d")"
        [ "$d" != "$home" ] || break
        d=${d%/*}
    done
done
