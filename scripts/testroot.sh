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

# --- host flavours: thin layers over the root, each cached under its own stamp ---------------
# A host of a flavour overlays its layer above the root (overlayfs with two lower layers), so a
# flavour costs only what it adds, and the root stays untouched.

# $1 flavour, $2 Debian packages to add (may be empty), $3 shell run inside the layer as root.
build_layer() {
  name=$1 pkgs=$2 setup=$3
  layer="$cache/testroot-$name"
  want="layer v2 $name [$pkgs] $(printf '%s' "$setup" | sha256sum | cut -c1-16) over $stamp_text"
  if [ "$(cat "$layer/.sshremedy-layer" 2>/dev/null)" = "$want" ]; then
    echo "test root: flavour $name cached at $layer"
    return 0
  fi
  work="$cache/.layer-$name.$$"
  rm -rf "$work"
  mkdir -p "$work/upper" "$work/work" "$work/root"
  mount -t overlay overlay -o "lowerdir=$root,upperdir=$work/upper,workdir=$work/work" "$work/root"
  # Unmounted on every exit path; the half-built layer is dropped.
  trap 'umount -R "$work/root" 2>/dev/null || umount -l "$work/root" 2>/dev/null || true; rm -rf "$work"' EXIT
  if [ -n "$pkgs" ]; then
    mount -t proc proc "$work/root/proc"
    cp /etc/resolv.conf "$work/root/etc/resolv.conf"
    # No service starts inside the build: policy-rc.d says no to every invoke-rc.d.
    printf '#!/bin/sh\nexit 101\n' > "$work/root/usr/sbin/policy-rc.d"
    chmod 755 "$work/root/usr/sbin/policy-rc.d"
    chroot "$work/root" /bin/sh -eu -c "export DEBIAN_FRONTEND=noninteractive
      apt-get -q update >/dev/null
      apt-get -q install -y --no-install-recommends $pkgs >/dev/null"
    # The downloaded packages stay in /var/cache/apt/archives, beside the root's own: the runtime
    # gate reinstalls a missing library offline from there, as on a host that keeps its cache.
    rm -f "$work/root/usr/sbin/policy-rc.d"
    umount "$work/root/proc"
  fi
  chroot "$work/root" /bin/sh -eu -c "$setup"
  umount "$work/root"
  trap - EXIT
  rm -rf "$layer"
  # The layer's resolv.conf is the machine's, copied for apt: each host gets its own anyway.
  rm -f "$work/upper/etc/resolv.conf"
  mv "$work/upper" "$layer"
  rm -rf "$work"
  echo "$want" > "$layer/.sshremedy-layer"
  echo "test root: flavour $name ready at $layer"
}

# Shaped like RHEL: the unit is sshd.service (no ssh.service, no SysV script), firewalld is the
# firewall (zone public, ssh admitted as a service), and sshd_config.d holds a vendor drop-in.
rhel_setup='
systemctl disable ssh.service >/dev/null 2>&1 || true
rm -f /lib/systemd/system/ssh.service /lib/systemd/system/ssh.socket /lib/systemd/system/rescue-ssh.target /etc/init.d/ssh
mkdir -p /etc/sysconfig
printf "%s\n" "# Options for sshd (shaped like RHEL)" "OPTIONS=" > /etc/sysconfig/sshd
cat > /usr/lib/systemd/system/sshd.service <<UNIT
[Unit]
Description=OpenSSH server daemon
Documentation=man:sshd(8) man:sshd_config(5)
After=network.target

[Service]
Type=notify
EnvironmentFile=-/etc/sysconfig/sshd
ExecStart=/usr/sbin/sshd -D \$OPTIONS
ExecReload=/bin/kill -HUP \$MAINPID
KillMode=process
Restart=on-failure
RestartSec=42s
RuntimeDirectory=sshd
RuntimeDirectoryMode=0755

[Install]
WantedBy=multi-user.target
UNIT
systemctl enable sshd.service >/dev/null 2>&1
cat > /etc/ssh/sshd_config.d/50-redhat.conf <<CONF
# Shaped like the vendor drop-in of RHEL 9
SyslogFacility AUTHPRIV
ChallengeResponseAuthentication no
GSSAPIAuthentication no
UsePAM yes
X11Forwarding yes
PrintMotd no
CONF
systemctl enable firewalld.service >/dev/null 2>&1
sed -i "s/^DefaultZone=.*/DefaultZone=public/" /etc/firewalld/firewalld.conf
'

# Socket-activated like current Ubuntu: ssh.socket listens, ssh.service starts on the first
# connection and takes the socket from systemd (Debian 12 sshd speaks sd_listen_fds).
socket_setup='
systemctl disable ssh.service >/dev/null 2>&1
systemctl enable ssh.socket >/dev/null 2>&1
'

build_layers() {
  build_layer rhel "firewalld" "$rhel_setup"
  build_layer socket "" "$socket_setup"
}

if [ -f "$root/.sshremedy-stamp" ] && [ "$(cat "$root/.sshremedy-stamp")" = "$stamp_text" ]; then
  prepare
  echo "test root: cached at $root"
  build_layers
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
build_layers
