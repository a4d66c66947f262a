# rescue-keep.sh: runs inside the chroot of the instance's mounted system disk, after the repair
# validated. The working snapshot (made in the rescue system's memory) is written to the disk
# beside the snapshots runs over SSH or TAT take, so `sshremedy snapshots` and `sshremedy
# restore` see it; the disk's change generation moves on, so no plan made before this repair is applied.
#
# Environment:
#   SR_SNAPSHOT       the working snapshot (under the chroot's /run)
#   SR_SNAPSHOT_DIR   where the disk keeps snapshots (default /var/lib/sshremedy/snapshots)
# Prints: snapshot=<its path on the disk>, generation=<n>.
set -eu
snap=${SR_SNAPSHOT:-}
sr_check_path SR_SNAPSHOT "$snap"
[ -f "$snap/manifest" ] || sr_die "$snap is not a snapshot (no manifest)"
dir=${SR_SNAPSHOT_DIR:-/var/lib/sshremedy/snapshots}
sr_check_path SR_SNAPSHOT_DIR "$dir"
mkdir -p -m 0700 -- "$dir"
name=${snap##*/}
rm -rf -- "$dir/.$name.tmp"
cp -a -- "$snap" "$dir/.$name.tmp"
mv -T -- "$dir/.$name.tmp" "$dir/$name"
SR_STATE_DIR=/var/lib/sshremedy
sr_generation_bump
printf 'snapshot=%s\ngeneration=%s\n' "$dir/$name" "$(sr_generation)"
