# write-files.sh: replaces whole files (the drop-ins the pipeline neutralised), each through a
# temp file beside it and one rename, keeping owner and mode. Covered by the snapshot and the
# dead-man revert like every other change.
#
# Environment:
#   SR_FILE_COUNT       how many files (0 or more)
#   SR_FILE_PATH_<n>    absolute path of file n (1-based)
#   SR_FILE_CONTENT_<n> its new content
# Prints: written=<path> for each file whose content changed.
set -eu
n=0
count=${SR_FILE_COUNT:-0}
sr_check_count_or_zero() { case $1 in '' | *[!0-9]*) sr_die "SR_FILE_COUNT must be a whole number: got '$1'" ;; esac; }
sr_check_count_or_zero "$count"
while [ "$n" -lt "$count" ]; do
    n=$((n + 1))
    # Numbered parameters are read by name with printenv: no eval.
    path=$(printenv "SR_FILE_PATH_$n") || sr_die "SR_FILE_PATH_$n is not set"
    sr_env_content "SR_FILE_CONTENT_$n"
    sr_check_path "SR_FILE_PATH_$n" "$path"
    if [ -f "$path" ] && [ "$(cat -- "$path"; printf x)" = "${sr_content}x" ]; then
        continue
    fi
    printf '%s' "$sr_content" >"$path.sshremedy-new"
    sr_install_file "$path.sshremedy-new" "$path"
    printf 'written=%s\n' "$path"
done
