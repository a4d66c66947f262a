# lock.sh: the host lock one run holds from its snapshot to its verified change (lib.sh says how
# it works), so two runs never change one host at once.
#
# Environment:
#   SR_LOCK_ACTION          acquire, or release
#   SR_LOCK_OWNER           this run (stack, host name and a nonce of the run)
#   SR_LOCK_WAIT            acquire: seconds to wait for another run's lock
#   SR_LOCK_LEASE           acquire: seconds the lock holds unless extended (a dead-man arm extends it)
#   SR_EXPECT_GENERATION    acquire: the generation this run's probe saw; another one means the host
#                           changed since, and nothing is done
# Prints: lock=acquired|held|taken-over|released|not-held, generation=<n>.
set -eu
command -v sr_die >/dev/null 2>&1 || . "$(dirname -- "$0")/lib.sh"

owner=${SR_LOCK_OWNER:-}
[ -n "$owner" ] || sr_die "SR_LOCK_OWNER is empty"
case $owner in *"$sr_nl"* | *=*) sr_die "SR_LOCK_OWNER must be one line without '='" ;; esac
sr_check_path SR_RUN_DIR "$SR_RUN_DIR"
case ${SR_LOCK_ACTION:-} in
    acquire)
        sr_check_count SR_LOCK_WAIT "${SR_LOCK_WAIT:-}"
        sr_check_count SR_LOCK_LEASE "${SR_LOCK_LEASE:-}"
        sr_lock_acquire "$owner" "$SR_LOCK_WAIT" "$SR_LOCK_LEASE"
        generation=$(sr_generation)
        if [ -n "${SR_EXPECT_GENERATION:-}" ] && [ "$generation" != "$SR_EXPECT_GENERATION" ]; then
            sr_lock_release "$owner"
            sr_die "the host changed since this run probed it (another run changed or reverted it: generation $generation, the probe saw $SR_EXPECT_GENERATION): nothing was changed; run pulumi up again to plan from the host as it is now"
        fi
        printf 'lock=%s\ngeneration=%s\n' "$sr_lock_state" "$generation"
        ;;
    release)
        sr_lock_release "$owner"
        printf 'lock=%s\ngeneration=%s\n' "$sr_lock_state" "$(sr_generation)"
        ;;
    *) sr_die "SR_LOCK_ACTION must be acquire or release: got '${SR_LOCK_ACTION:-}'" ;;
esac
