# host-keys.sh: prints the public host keys sshd offers, as known_hosts key text, so the pipeline
# can pin them for every later SSH connection and notice when they change. Changes nothing.
# Asks sshd which HostKey files it loads (`sshd -T`); when sshd cannot parse its configuration,
# falls back to the default /etc/ssh/ssh_host_*_key files. A key without its .pub beside it is
# derived from the private key (`ssh-keygen -y`).
#
# Prints: host_key=<type> <base64 key> for each key found, then generation=<n>: how many changes
# and reverts the host has seen (lib.sh, the host lock); a run changes nothing if it moved since.
set -eu
files=
if sshd=$(sr_sshd_bin 2>/dev/null) && sr_sshd_check "$sshd" -T; then
    files=$(printf '%s\n' "$sr_out" | awk 'tolower($1) == "hostkey" { print $2 }')
fi
[ -n "$files" ] || files=$(ls /etc/ssh/ssh_host_*_key 2>/dev/null || true)
printf '%s\n' "$files" | while IFS= read -r key; do
    [ -n "$key" ] || continue
    if [ -f "$key.pub" ]; then
        line=$(cat -- "$key.pub")
    elif [ -f "$key" ]; then
        line=$(ssh-keygen -y -f "$key" 2>/dev/null) || continue
    else
        continue
    fi
    # Only the type and the key: the comment is the host's own business.
    printf '%s\n' "$line" | awk 'NF >= 2 { print "host_key=" $1 " " $2; exit }'
done
printf 'generation=%s\n' "$(sr_generation)"
