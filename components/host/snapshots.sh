# snapshots.sh: lists the snapshots snapshot.sh made on this host. Changes nothing.
#
# Environment:
#   SR_SNAPSHOT_DIR  where snapshots live (default /var/lib/sshremedy/snapshots)
# Prints, per snapshot: snapshot=<id>, then seq=, created=<epoch s>, run=<the run that took it,
# when recorded> and entry=<kind> <path> for each file, directory, link or absent path it holds.
set -eu
command -v sr_die >/dev/null 2>&1 || . "$(dirname -- "$0")/lib.sh"
dir=${SR_SNAPSHOT_DIR:-/var/lib/sshremedy/snapshots}
sr_check_path SR_SNAPSHOT_DIR "$dir"
for m in "$dir"/*/manifest; do
    [ -f "$m" ] || continue
    d=${m%/manifest}
    sr_valid_id "${d##*/}" || continue
    printf 'snapshot=%s\n' "${d##*/}"
    sed -n -e 's/^seq /seq=/p' -e 's/^created /created=/p' -e 's/^run /run=/p' \
        -e 's/^\(file\|dir\|link\|absent\) /entry=\1 /p' "$m"
done
