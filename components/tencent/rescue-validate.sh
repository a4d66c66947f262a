# rescue-validate.sh: runs inside the chroot of the instance's mounted system disk. Asks the disk's
# own sshd whether it can start as the instance will boot it: the binary loads its libraries,
# reads its configuration and its host keys (`sshd -t`).
#
# Prints: sshd_valid=<path of the sshd binary>.
set -eu
sshd=$(sr_sshd_bin) || sr_die "no sshd binary on the disk"
if ! out=$("$sshd" -t 2>&1 </dev/null); then
    sr_die "the disk's own sshd does not validate ($sshd -t): $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
fi
printf 'sshd_valid=%s\n' "$sshd"
