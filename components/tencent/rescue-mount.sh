# rescue-mount.sh: runs on a CVM rescue system (EnterRescueMode), not on the instance. Finds the
# instance's system disk among the block devices the rescue system was given (not its own root,
# not mounted), mounts it read-write at SR_ROOT and prepares it for chroot: the rescue system's
# /dev bound in, a fresh tmpfs on /run (sshd's privilege separation directory in it, and
# sshremedy's lock and working snapshot: nothing of a failed repair is left on the disk).
#
# Environment:
#   SR_ROOT      where the disk is mounted (default /mnt/sshremedy-root)
#   SR_DEVICES   candidate devices in order, one a line (default: the second disk's names:
#                /dev/vdb, /dev/sdb, /dev/xvdb, /dev/nvme1n1, each whole and its partitions)
# Prints: device=<the disk's device>, root=<SR_ROOT>, os=<PRETTY_NAME of its os-release>.
set -eu
root=${SR_ROOT:-/mnt/sshremedy-root}
sr_check_path SR_ROOT "$root"
case $root in /) sr_die "SR_ROOT must not be /" ;; esac

# A session an earlier run left behind (it died between mount and unmount): unmounted first.
if mountpoint -q -- "$root" 2>/dev/null; then
    umount -R -- "$root" 2>/dev/null || umount -R -l -- "$root"
fi
mkdir -p -m 0700 -- "$root"

own=$(awk '$2 == "/" { print $1 }' /proc/mounts | tail -n 1)
devices=${SR_DEVICES:-}
if [ -z "$devices" ]; then
    for d in /dev/vdb /dev/sdb /dev/xvdb /dev/nvme1n1; do
        devices=$devices$d$sr_nl
        for p in "$d"[0-9]* "$d"p[0-9]*; do
            [ ! -b "$p" ] || devices=$devices$p$sr_nl
        done
    done
fi

found=
tried=
for dev in $devices; do
    [ -b "$dev" ] || continue
    [ "$dev" != "$own" ] || continue
    # Mounted already (the rescue system's own, or in use): not the instance's disk to change.
    if awk -v d="$dev" '$1 == d { found = 1 } END { exit !found }' /proc/mounts; then
        continue
    fi
    tried="$tried $dev"
    mount -o ro -- "$dev" "$root" 2>/dev/null || continue
    if [ -f "$root/etc/passwd" ] && [ -d "$root/etc/ssh" ] && [ -x "$root/bin/sh" ]; then
        umount -- "$root"
        found=$dev
        break
    fi
    umount -- "$root"
done
[ -n "$found" ] || sr_die "no system disk with /etc/ssh found among the rescue system's disks (tried:${tried:- none}; own root $own): give the device as rescue.device"

mount -o rw -- "$found" "$root"
for d in dev proc run; do
    [ -d "$root/$d" ] || sr_die "$found has no /$d: not a system disk sshremedy can repair from rescue mode"
done
# The session's own network namespace: the chroot's phases run there (tencent/rescue.ts), with
# the firewall the disk's boot loads (rescue-firewall.sh) and none of the rescue system's addresses.
ip netns delete sshremedy-rescue 2>/dev/null || true
if command -v ip >/dev/null 2>&1 && ip netns add sshremedy-rescue 2>/dev/null; then
    printf 'netns=sshremedy-rescue\n'
else
    printf 'netns=none\n'
fi
mount --bind /dev "$root/dev"
mount -t tmpfs -o mode=0755,size=256m sshremedy-run "$root/run"
mkdir -p -m 0755 "$root/run/sshd"
mkdir -p -m 0700 "$root/run/sshremedy-rescue"
printf 'device=%s\nroot=%s\n' "$found" "$root"
printf 'os=%s\n' "$(sed -n 's/^PRETTY_NAME=//p' "$root/etc/os-release" 2>/dev/null | tr -d '"' | head -n 1)"
