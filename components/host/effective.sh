# effective.sh: prints sshd's effective configuration for one connection (`sshd -T -C`): the
# values the verifying login really meets, with Match blocks and drop-ins applied.
#
# Environment:
#   SR_CHECK_CONNECTION  the -C spec, e.g. user=alice,host=198.18.0.1,addr=198.18.0.1
# Prints: effective_begin, the sshd -T lines, effective_end.
set -eu
sshd=$(sr_sshd_bin)
sr_sshd_check "$sshd" -T -C "$SR_CHECK_CONNECTION" || sr_die "sshd -T -C $SR_CHECK_CONNECTION failed: $sr_msg"
printf 'effective_begin\n%s\neffective_end\n' "$sr_out"
