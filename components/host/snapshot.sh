# snapshot.sh: records every file a change may touch, plus firewall and SELinux state, so that
# restore.sh can put the host back exactly.
#
# Environment:
#   SR_SNAPSHOT_ID   name of this snapshot (letters, digits, . _ -); the same id twice is one snapshot
#   SR_PATHS         absolute paths, one a line; a path missing now is recorded absent (restore deletes it)
#   SR_MODES         absolute paths, one a line, whose owner and mode only are recorded (a home directory)
#   SR_SNAPSHOT_DIR  where snapshots live (default /var/lib/sshremedy/snapshots)
#   SR_KEEP          how many snapshots to keep, oldest pruned first (default 5)
#   SR_SNAPSHOT_RUN  optional: the run taking it (stack, host, nonce), recorded for `sshremedy snapshots`
# Prints: snapshot=<dir>, created=yes|no, then pruned=<dir> for each snapshot removed.
#
# A snapshot is a directory: manifest (kind and path of each entry), files.tar (owners, modes and
# links as they were; made when any path is present), and iptables.rules / ip6tables.rules /
# nft.rules / selinux where the host has those tools. It is built under a dot-name and renamed
# into place, so it exists whole or not at all.
set -eu
command -v sr_die >/dev/null 2>&1 || . "$(dirname -- "$0")/lib.sh"

dir=${SR_SNAPSHOT_DIR:-/var/lib/sshremedy/snapshots}
id=${SR_SNAPSHOT_ID:-}
keep=${SR_KEEP:-5}
sr_check_path SR_SNAPSHOT_DIR "$dir"
sr_check_id SR_SNAPSHOT_ID "$id"
sr_check_count SR_KEEP "$keep"
final=$dir/$id

mkdir -p -m 0700 -- "$dir" 2>/dev/null || sr_die "cannot make $dir (is its file system full?); nothing was changed"
if [ -f "$final/manifest" ]; then
    created=no
else
    [ ! -e "$final" ] || sr_die "$final exists but is not a snapshot (no manifest): remove it or pick another id"
    # Room first: a snapshot that cannot be written whole stops the run before any change.
    need=$(printf '%s\n' "${SR_PATHS:-}" | while IFS= read -r p; do
        [ -z "$p" ] || [ ! -e "$p" ] || du -skL -- "$p" 2>/dev/null || true
    done | awk '{ s += $1 } END { print s + 64 }')
    free=$(df -Pk -- "$dir" | awk 'NR == 2 { print $4 }')
    [ -z "$free" ] || [ "$free" -ge "$need" ] ||
        sr_die "no room for the snapshot in $dir: $free KiB free on its file system, about $need KiB needed (the disk is full); nothing was changed: free some space there and run again"
    # Made in a subshell: whatever fails in it (a full disk fails the first write), the half-made
    # snapshot goes and the run stops here, before any change.
    if ! (
        tmp=$(mktemp -d "$dir/.tmp-$id.XXXXXX")
        trap 'rm -rf -- "$tmp"' EXIT
        # The sequence number orders snapshots for pruning; clock time can tie or go backwards.
        seq=$(cat -- "$dir"/*/manifest 2>/dev/null | awk '$1 == "seq" && $2 + 0 > m { m = $2 + 0 } END { print m + 1 }')
        printf 'format 1\nseq %s\ncreated %s\n' "$seq" "$(date +%s)" >"$tmp/manifest"
        case ${SR_SNAPSHOT_RUN:-} in
            '') ;;
            *[!A-Za-z0-9._-]*) sr_die "SR_SNAPSHOT_RUN may hold only letters, digits and . _ -" ;;
            *) printf 'run %s\n' "$SR_SNAPSHOT_RUN" >>"$tmp/manifest" ;;
        esac
        set --
        while IFS= read -r p; do
            [ -n "$p" ] || continue
            sr_check_path "SR_PATHS entry" "$p"
            if [ -L "$p" ]; then
                kind=link
            elif [ -d "$p" ]; then
                kind=dir
            elif [ -e "$p" ]; then
                kind=file
            else
                kind=absent
            fi
            printf '%s %s\n' "$kind" "$p" >>"$tmp/manifest"
            # Relative to / and led by ./, a name can never be taken for a tar option.
            [ "$kind" = absent ] || set -- "$@" "./${p#/}"
        done <<EOF
${SR_PATHS:-}
EOF
        while IFS= read -r p; do
            [ -n "$p" ] || continue
            sr_check_path "SR_MODES entry" "$p"
            [ ! -e "$p" ] || printf 'meta %s %s %s\n' "$(stat -c %u:%g -- "$p")" "$(stat -c %a -- "$p")" "$p" >>"$tmp/manifest"
        done <<EOF
${SR_MODES:-}
EOF
        # tar refuses to make an empty archive: with nothing present there is no files.tar.
        if [ "$#" -gt 0 ] && ! tar_err=$(tar -C / -cf "$tmp/files.tar" "$@" 2>&1); then
            sr_die "could not write the snapshot in $dir: $tar_err; nothing was changed"
        fi
        if command -v iptables-save >/dev/null 2>&1; then
            iptables-save >"$tmp/iptables.rules"
        fi
        if command -v ip6tables-save >/dev/null 2>&1; then
            ip6tables-save >"$tmp/ip6tables.rules"
        fi
        if command -v nft >/dev/null 2>&1; then
            nft list ruleset >"$tmp/nft.rules"
        fi
        if command -v getenforce >/dev/null 2>&1; then
            getenforce >"$tmp/selinux"
        fi
        # A rule dump cut short by a full disk would restore a firewall with rules missing.
        sync_err=$(sync -f -- "$tmp/manifest" 2>&1) || sr_die "could not write the snapshot in $dir: $sync_err; nothing was changed"
        [ ! -e "$final" ] || sr_die "$final appeared while this snapshot was being made"
        mv -- "$tmp" "$final"
        trap - EXIT
    ); then
        sr_die "the snapshot in $dir could not be made ($(df -Pk -- "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }') KiB free on its file system: is it full?); nothing was changed"
    fi
    created=yes
fi

# Oldest first; the snapshot just made or reused is never pruned, even when it is the oldest.
list=$(for m in "$dir"/*/manifest; do
    [ -f "$m" ] || continue
    d=${m%/manifest}
    sr_valid_id "${d##*/}" || continue
    printf '%s %s\n' "$(sed -n 's/^seq //p' "$m")" "$d"
done | sort -n)
total=$(printf '%s\n' "$list" | grep -c .) || true
excess=$((total - keep))

printf 'snapshot=%s\ncreated=%s\n' "$final" "$created"
while read -r _ d; do
    [ "$excess" -gt 0 ] || break
    [ -n "$d" ] && [ "$d" != "$final" ] || continue
    rm -rf -- "$d"
    printf 'pruned=%s\n' "$d"
    excess=$((excess - 1))
done <<EOF
$list
EOF
