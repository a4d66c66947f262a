#!/bin/sh
# Placeholder repair until the SshdConfig pipeline lands: put the distribution's own pristine
# sshd_config back (Debian ships it in /usr/share/openssh), validated first, the old file kept.
set -eu
vendor=/usr/share/openssh/sshd_config
target=/etc/ssh/sshd_config
[ -f "$vendor" ] || { echo "no vendor sshd_config at $vendor on this host" >&2; exit 1; }
# A failed start makes systemd remove sshd's runtime directory, and without it even `sshd -t`
# refuses to run ("Missing privilege separation directory").
[ -d /run/sshd ] || install -d -m 0755 /run/sshd
/usr/sbin/sshd -t -f "$vendor"
if cmp -s "$vendor" "$target"; then
    echo "changed=no"
    exit 0
fi
keep=/var/lib/sshremedy/placeholder
mkdir -p "$keep"
backup="$keep/sshd_config.$(date +%Y%m%dT%H%M%S)"
cp -p "$target" "$backup"
stage="/etc/ssh/.sshremedy-stage.$$"
cp "$vendor" "$stage"
chmod 0644 "$stage"
mv -f "$stage" "$target"
if [ -d /run/systemd/system ]; then
    unit=ssh.service
    systemctl cat "$unit" >/dev/null 2>&1 || unit=sshd.service
    systemctl reset-failed "$unit" 2>/dev/null || true
    if ! systemctl restart "$unit"; then
        journalctl -u "$unit" -n 8 --no-pager -o cat >&2 || true
        exit 1
    fi
else
    service ssh restart 2>/dev/null || service sshd restart
fi
echo "changed=yes"
echo "backup=$backup"
