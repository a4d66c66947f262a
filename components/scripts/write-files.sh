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
    # Numbered parameters are read by name with printenv: no eval; $(…) strips only trailing newlines,
    # so a sentinel keeps them.
    path=$(printenv "SR_FILE_PATH_$n") || sr_die "SR_FILE_PATH_$n is not set"
    printenv "SR_FILE_CONTENT_$n" >/dev/null || sr_die "SR_FILE_CONTENT_$n is not set"
    content=$(printenv "SR_FILE_CONTENT_$n"; printf x)
    content=${content%?x}
    sr_check_path "SR_FILE_PATH_$n" "$path"
    if [ -f "$path" ] && [ "$(cat -- "$path"; printf x)" = "${content}x" ]; then
        continue
    fi
    tmp="$path.sshremedy-new"
    printf '%s' "$content" >"$tmp"
    if [ -e "$path" ]; then
        chown -- "$(stat -c %u:%g -- "$path")" "$tmp"
        chmod -- "$(stat -c %a -- "$path")" "$tmp"
    fi
    mv -f -- "$tmp" "$path"
    printf 'written=%s\n' "$path"
done
