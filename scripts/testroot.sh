#!/usr/bin/env bash
# Build (once) the Debian bookworm root that every test host overlays.
# The root is a cache outside the repository; a stamp file records what it holds,
# so a change to the package list rebuilds it and anything else reuses it.
set -eu

cache="${SSHREMEDY_CACHE:-/var/cache/sshremedy}"
root="$cache/testroot"
packages="systemd,systemd-sysv,dbus,openssh-server,iproute2,iptables,nftables,fail2ban,sudo,procps,libpam-modules,policycoreutils,selinux-utils,python3-systemd"
stamp_text="bookworm minbase $packages v1"

prepare() {
  # Host-independent preparation, versioned apart from the debootstrap so that changing
  # it does not fetch the packages again. Per-host identity (host keys, client keys,
  # address) is laid into each host's overlay by the harness.
  prep_version="prep v3"
  [ "$(cat "$root/.sshremedy-prep" 2>/dev/null)" = "$prep_version" ] && return 0
  chroot "$root" /bin/sh -eu <<'CHROOT'
rm -f /etc/ssh/ssh_host_*_key /etc/ssh/ssh_host_*_key.pub
systemctl mask systemd-networkd-wait-online.service getty@tty1.service console-getty.service \
  systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer \
  man-db.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer >/dev/null 2>&1 || true
systemctl enable ssh.service >/dev/null 2>&1
# fail2ban stays installed but off: the S7 fault starts it when a test wants it.
systemctl disable fail2ban.service >/dev/null 2>&1 || true
getent group sshusers >/dev/null || groupadd -g 2001 sshusers
getent group admins >/dev/null || groupadd -g 2002 admins
id alice >/dev/null 2>&1 || useradd -m -u 1001 -U -G sshusers,admins,sudo -s /bin/bash alice
id bob >/dev/null 2>&1 || useradd -m -u 1002 -U -G sshusers -s /bin/bash bob
# Test-only passwords, known to the harness: the S5 fault needs a password login to refuse.
echo 'alice:alice-test-password' | chpasswd
echo 'bob:bob-test-password' | chpasswd
echo 'root:root-test-password' | chpasswd
CHROOT
  echo "$prep_version" > "$root/.sshremedy-prep"
  echo "test root: prepared ($prep_version)"
}

if [ -f "$root/.sshremedy-stamp" ] && [ "$(cat "$root/.sshremedy-stamp")" = "$stamp_text" ]; then
  prepare
  echo "test root: cached at $root"
  exit 0
fi

# Use the Debian mirror this machine's apt already uses, so no host is named here.
mirror="${SSHREMEDY_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
    | grep -v -- '-security' | grep -E '/debian/?$|/debian ' | head -n1 | awk '{ if ($1 == "deb") print $2; else print $2 }')
fi
[ -n "$mirror" ] || { echo "testroot: no Debian mirror found in apt sources; set SSHREMEDY_DEBIAN_MIRROR" >&2; exit 1; }

command -v debootstrap >/dev/null || { echo "testroot: debootstrap missing (apt-get install debootstrap)" >&2; exit 1; }

tmp="$root.tmp.$$"
rm -rf "$tmp"
mkdir -p "$cache"
trap 'rm -rf "$tmp"' EXIT
echo "test root: debootstrap bookworm into $tmp"
debootstrap --variant=minbase --include="$packages" bookworm "$tmp" "$mirror"

echo "$stamp_text" > "$tmp/.sshremedy-stamp"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
prepare
echo "test root: ready at $root"
