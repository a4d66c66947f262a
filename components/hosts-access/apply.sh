# hosts-access-apply.sh: writes the planned /etc/hosts.allow and /etc/hosts.deny, each through a
# temp file beside it and one rename (owner and mode kept, 0644 for a new file), but only if the
# file is still what the plan was made from: an edit made since the probe stops the change.
#
# Environment:
#   SR_HA_COUNT        how many files (1 or more)
#   SR_HA_PATH_<n>     absolute path of file n (1-based)
#   SR_HA_BEFORE_<n>   sha256 of the content the plan saw, or "absent"
#   SR_HA_CONTENT_<n>  the new content
# Prints: written=<path> for each file written.
set -eu
count=${SR_HA_COUNT:-}
sr_check_count SR_HA_COUNT "$count"
n=0
while [ "$n" -lt "$count" ]; do
    n=$((n + 1))
    path=$(printenv "SR_HA_PATH_$n") || sr_die "SR_HA_PATH_$n is not set"
    before=$(printenv "SR_HA_BEFORE_$n") || sr_die "SR_HA_BEFORE_$n is not set"
    sr_env_content "SR_HA_CONTENT_$n"
    sr_check_path "SR_HA_PATH_$n" "$path"
    if [ -f "$path" ]; then
        now=$(sha256sum <"$path" | cut -d' ' -f1)
    else
        now=absent
    fi
    [ "$now" = "$before" ] || sr_die "$path changed since it was probed (sha256 $now, planned from $before): run again"
    printf '%s' "$sr_content" >"$path.sshremedy-new"
    sr_install_file "$path.sshremedy-new" "$path"
    printf 'written=%s\n' "$path"
done
