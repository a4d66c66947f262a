# rescue-unmount.sh: runs on the CVM rescue system. Writes everything out and unmounts the
# instance's system disk and what rescue-mount.sh mounted below it, so ExitRescueMode boots the
# instance from a clean file system.
#
# Environment:
#   SR_ROOT   where rescue-mount.sh mounted the disk (default /mnt/sshremedy-root)
# Prints: unmounted=<SR_ROOT> (or not_mounted=<SR_ROOT>).
set -eu
root=${SR_ROOT:-/mnt/sshremedy-root}
sr_check_path SR_ROOT "$root"
ip netns delete sshremedy-rescue 2>/dev/null || true
if ! mountpoint -q -- "$root" 2>/dev/null; then
    printf 'not_mounted=%s\n' "$root"
    exit 0
fi
sync
umount -R -- "$root" || { sleep 1; umount -R -- "$root"; }
! mountpoint -q -- "$root" 2>/dev/null || sr_die "$root is still mounted"
printf 'unmounted=%s\n' "$root"
