# lib.sh: the helpers every sshremedy host script uses, in one place.
#
# How the scripts reach a host: the caller sends `<environment assignments> + lib.sh + <script>`
# as one text to `/bin/sh -s`. A script installed on the host (the dead-man's copy of restore.sh
# under /var/lib/sshremedy/bin) sources the lib.sh installed beside it instead.
# Every parameter is an SR_* environment variable; scripts only ever expand them quoted, as data.
set -eu

sr_nl='
'
sr_cr=$(printf '\r')

sr_die() {
    printf 'sshremedy: %s\n' "$*" >&2
    exit 1
}

# Ids end up in file and systemd unit names: letters, digits, '.', '_', '-', not leading '.'.
sr_valid_id() {
    case $1 in
        '' | .* | *[!A-Za-z0-9._-]*) return 1 ;;
    esac
}

sr_check_id() {
    sr_valid_id "$2" || sr_die "$1 must be letters, digits, '.', '_' or '-', not starting with '.': got '$2'"
}

sr_check_path() {
    case $2 in
        /) sr_die "$1 must not be '/'" ;;
        *"$sr_nl"*) sr_die "$1 must not contain a newline" ;;
        */./* | */../* | */. | */..) sr_die "$1 must not contain '.' or '..' components: got '$2'" ;;
        /*) ;;
        *) sr_die "$1 must be an absolute path: got '$2'" ;;
    esac
}

sr_check_count() {
    case $2 in
        '' | 0* | *[!0-9]*) sr_die "$1 must be a whole number above 0: got '$2'" ;;
    esac
}

# Fractional sleep is not POSIX; every sleep we have takes it, but a whole second still works.
sr_nap() {
    sleep 0.1 2>/dev/null || sleep 1
}

# Same file system as the directory that holds $2: the condition for rename(2) to be atomic.
sr_same_fs() {
    [ "$(stat -c %d -- "$1")" = "$(stat -c %d -- "$(dirname -- "$2")")" ]
}

sr_selinux_enabled() {
    command -v getenforce >/dev/null 2>&1 && [ "$(getenforce 2>/dev/null)" != Disabled ]
}

# Standard input base64-encoded on one line: how probes print file contents (fromBase64 reads it).
sr_b64() {
    base64 | tr -d '\n'
}

# The exact value of environment variable $1, trailing newlines kept, in sr_content (read by name
# with printenv: no eval; $(…) strips trailing newlines, so a sentinel keeps them).
sr_env_content() {
    printenv "$1" >/dev/null || sr_die "$1 is not set"
    sr_content=$(printenv "$1"; printf x)
    sr_content=${sr_content%?x}
}

# Puts the new file $1 in place of $2 with one rename (same file system): $2's owner, mode and
# SELinux label when $2 exists, else mode $3 (default 644) and the label policy gives; the data
# is on disk before the rename makes it live.
sr_install_file() {
    if [ -e "$2" ]; then
        chown -- "$(stat -c %u:%g -- "$2")" "$1"
        chmod -- "$(stat -c %a -- "$2")" "$1"
        ! sr_selinux_enabled || chcon --reference="$2" -- "$1"
        sr_existed=yes
    else
        chmod -- "${3:-644}" "$1"
        sr_existed=no
    fi
    sync -- "$1" 2>/dev/null || sync
    mv -f -- "$1" "$2"
    if [ "$sr_existed" = no ] && sr_selinux_enabled && command -v restorecon >/dev/null 2>&1; then
        restorecon -- "$2"
    fi
}

# Writes the content of environment variable $1 to file $2 through a temp file beside it.
sr_write_env() {
    sr_env_content "$1"
    mkdir -p -- "$(dirname -- "$2")"
    printf '%s' "$sr_content" >"$2.sshremedy-new"
    sr_install_file "$2.sshremedy-new" "$2"
}

sr_sshd_bin() {
    if command -v sshd 2>/dev/null; then
        return 0
    fi
    for sr_b in /usr/sbin/sshd /usr/local/sbin/sshd; do
        if [ -x "$sr_b" ]; then
            printf '%s\n' "$sr_b"
            return 0
        fi
    done
    sr_die "no sshd binary found (PATH, /usr/sbin, /usr/local/sbin)"
}

# Runs the sshd check "$@" (sshd -t or -T): its output in sr_out, its complaint in sr_msg.
# sshd refuses every check while its privilege separation directory is missing, and where that
# lives on tmpfs (Debian's /run/sshd) the service manager removes it whenever sshd stops, which is
# exactly when a host needs repair, and again while systemd restarts a crashed sshd. So the
# directory sshd names is made, and the check tried again.
sr_sshd_check() {
    sr_err=$(mktemp)
    sr_try=0
    while :; do
        if sr_out=$("$@" 2>"$sr_err"); then
            rm -f -- "$sr_err"
            return 0
        fi
        sr_msg=$(cat -- "$sr_err")
        sr_try=$((sr_try + 1))
        case $sr_msg in
            *"Missing privilege separation directory: /"*) [ "$sr_try" -lt 3 ] || break ;;
            *) break ;;
        esac
        sr_d=${sr_msg##*Missing privilege separation directory: }
        sr_d=${sr_d%%"$sr_nl"*}
        # sshd ends the lines it logs to stderr with CR LF.
        sr_d=${sr_d%"$sr_cr"}
        sr_check_path "sshd's privilege separation directory" "$sr_d"
        mkdir -p -m 0755 -- "$sr_d"
    done
    rm -f -- "$sr_err"
    return 1
}

# Where sshd writes its pid file: as its config says, else where sshd usually does.
sr_sshd_pidfile() {
    if sr_sshd_check "$(sr_sshd_bin)" -T; then
        printf '%s\n' "$sr_out" | sed -n 's/^pidfile //p'
        return 0
    fi
    for sr_f in /run/sshd.pid /var/run/sshd.pid; do
        if [ -f "$sr_f" ]; then
            printf '%s\n' "$sr_f"
            return 0
        fi
    done
    printf '/run/sshd.pid\n'
}

# --- the sshd service, run by whatever the host runs it with (detected once per script) -------

# A system disk in a chroot (rescue mode) has no service manager running to ask: the caller
# names the one it boots with (tencent/rescue-offline.sh).
SR_SSHD_MANAGER=${SR_OFFLINE_SSHD_MANAGER:-}
SR_SSHD_SERVICE=${SR_OFFLINE_SSHD_SERVICE:-}

sr_sshd_detect() {
    [ -z "$SR_SSHD_MANAGER" ] || return 0
    # systemd manages services only when it booted the host (sd_booted(3)); its tools may be
    # installed on hosts it did not boot. `show --value` needs systemd 230: parse `Key=value`.
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        for sr_u in ssh.service sshd.service; do
            if [ "$(systemctl show -p LoadState "$sr_u" 2>/dev/null)" = LoadState=loaded ]; then
                SR_SSHD_MANAGER=systemd
                # An alias (Debian's sshd.service) resolves to the unit it names.
                SR_SSHD_SERVICE=$(systemctl show -p Id "$sr_u")
                SR_SSHD_SERVICE=${SR_SSHD_SERVICE#Id=}
                return 0
            fi
        done
    fi
    for sr_n in ssh sshd; do
        if [ -x "/etc/init.d/$sr_n" ]; then
            SR_SSHD_MANAGER=sysv
            SR_SSHD_SERVICE=$sr_n
            return 0
        fi
    done
    SR_SSHD_MANAGER=pidfile
    SR_SSHD_SERVICE=$(sr_sshd_pidfile)
}

sr_sshd_describe() {
    sr_sshd_detect
    printf 'service_manager=%s\nsshd_service=%s\n' "$SR_SSHD_MANAGER" "$SR_SSHD_SERVICE"
}

# The init script through `service` where there is one (it cleans the environment first).
sr_sysv() {
    if command -v service >/dev/null 2>&1; then
        service "$SR_SSHD_SERVICE" "$1"
    else
        "/etc/init.d/$SR_SSHD_SERVICE" "$1"
    fi
}

# Alive and not a zombie: an init that does not reap (a container's) leaves exited processes
# that still answer kill -0.
sr_pid_running() {
    sr_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
    case $sr_st in '' | Z* | X*) return 1 ;; esac
}

# The pid in the pid file $1, when that process is alive and is sshd.
sr_sshd_pid() {
    sr_p=$(cat -- "$1" 2>/dev/null) || return 1
    case $sr_p in '' | *[!0-9]*) return 1 ;; esac
    sr_pid_running "$sr_p" && [ "$(cat "/proc/$sr_p/comm" 2>/dev/null)" = sshd ] || return 1
    printf '%s\n' "$sr_p"
}

sr_sshd_pid_start() {
    sr_b=$(sr_sshd_bin)
    sr_sshd_check "$sr_b" -t || sr_die "sshd -t: $sr_msg"
    "$sr_b"
}

sr_sshd_pid_stop() {
    sr_p=$(sr_sshd_pid "$SR_SSHD_SERVICE") || return 0
    kill -s TERM "$sr_p"
    sr_i=0
    while sr_pid_running "$sr_p"; do
        sr_i=$((sr_i + 1))
        [ "$sr_i" -lt 50 ] || sr_die "sshd (pid $sr_p) did not stop within 5 s"
        sr_nap
    done
}

# Inodes of the TCP sockets that the sshd named in pid file $1 listens on, one a line.
sr_sshd_listeners() {
    sr_p=$(sr_sshd_pid "$1") || return 0
    set -- /proc/net/tcp
    [ ! -r /proc/net/tcp6 ] || set -- "$@" /proc/net/tcp6
    for sr_fd in /proc/"$sr_p"/fd/*; do
        sr_l=$(readlink "$sr_fd" 2>/dev/null) || continue
        case $sr_l in
            'socket:['*']') sr_l=${sr_l#socket:[} && printf 'sock %s\n' "${sr_l%]}" ;;
        esac
    done | cat - "$@" | awk '$1 == "sock" { mine[$2] = 1; next } $4 == "0A" && ($10 in mine) { print $10 }'
}

# Managers return before sshd listens again (SIGHUP makes it re-execute itself; init scripts
# return once it forks), and a re-execution that fails is silent. Waits until sshd listens on
# sockets none of which are among the inodes $2 it listened on before.
sr_sshd_settle() {
    sr_i=0
    while :; do
        sr_now=$(sr_sshd_listeners "$1")
        if [ -n "$sr_now" ] && printf '%s\n' "$sr_now" | awk -v before=" $(printf '%s' "$2" | tr '\n' ' ') " '
            index(before, " " $1 " ") { stale = 1 } END { exit stale }'; then
            return 0
        fi
        sr_i=$((sr_i + 1))
        if [ "$sr_i" -ge 100 ]; then
            printf 'sshremedy: sshd (pid file %s) is not listening afresh after 10 s\n' "$1" >&2
            return 1
        fi
        sr_nap
    done
}

# $1: restart, or reload (which starts sshd when it is down). Returns once sshd listens.
# The manager's chatter goes to stderr: stdout carries key=value lines only.
sr_sshd_apply() {
    sr_sshd_detect
    sr_pf=$(sr_sshd_pidfile)
    sr_before=$(sr_sshd_listeners "$sr_pf")
    sr_rc=0
    # A host whose sshd kept failing (the usual state of a host that needs repair) has hit
    # systemd's start limit: until it is reset, every start is refused, even with a good config.
    [ "$SR_SSHD_MANAGER" != systemd ] || systemctl reset-failed "$SR_SSHD_SERVICE" 2>/dev/null || true
    case $1:$SR_SSHD_MANAGER in
        restart:systemd) systemctl restart "$SR_SSHD_SERVICE" >&2 || sr_rc=$? ;;
        reload:systemd) systemctl reload-or-restart "$SR_SSHD_SERVICE" >&2 || sr_rc=$? ;;
        restart:sysv) sr_sysv restart >&2 || sr_rc=$? ;;
        reload:sysv)
            if sr_sshd_active; then
                sr_sysv reload >&2 || sr_rc=$?
            else
                sr_sysv start >&2 || sr_rc=$?
            fi
            ;;
        restart:pidfile) { sr_sshd_pid_stop && sr_sshd_pid_start; } >&2 || sr_rc=$? ;;
        reload:pidfile)
            if sr_p=$(sr_sshd_pid "$SR_SSHD_SERVICE"); then
                kill -s HUP "$sr_p" || sr_rc=$?
            else
                sr_sshd_pid_start >&2 || sr_rc=$?
            fi
            ;;
    esac
    # Where systemd holds the listening socket (ssh.socket) it never closes: nothing to wait for.
    if [ "$sr_rc" -eq 0 ] && [ "$sr_pf" != none ] &&
        ! { [ "$SR_SSHD_MANAGER" = systemd ] && systemctl is-active --quiet "${SR_SSHD_SERVICE%.service}.socket"; }; then
        sr_sshd_settle "$sr_pf" "$sr_before" || sr_rc=$?
    fi
    return "$sr_rc"
}

sr_sshd_restart() {
    sr_sshd_apply restart
}

sr_sshd_reload() {
    sr_sshd_apply reload
}

# The socket unit that activates sshd, when the host uses one (enabled or listening).
sr_sshd_socket() {
    sr_sshd_detect
    [ "$SR_SSHD_MANAGER" = systemd ] || return 1
    sr_s=${SR_SSHD_SERVICE%.service}.socket
    [ "$(systemctl show -p LoadState "$sr_s" 2>/dev/null)" = LoadState=loaded ] || return 1
    systemctl is-enabled --quiet "$sr_s" 2>/dev/null || systemctl is-active --quiet "$sr_s" 2>/dev/null || return 1
    printf '%s\n' "$sr_s"
}

# After a unit file changed: systemd reads the files again and, where a socket activates sshd,
# the socket is made anew from them. sshd is stopped first (it holds the old socket); the
# restart that ends every change, or the next connection, starts it on the new one.
sr_units_changed() {
    sr_systemd_booted || return 0
    systemctl daemon-reload
    sr_s=$(sr_sshd_socket) || return 0
    systemctl stop "$SR_SSHD_SERVICE" >&2 || true
    systemctl reset-failed "$sr_s" 2>/dev/null || true
    systemctl restart "$sr_s" >&2
}

sr_sshd_active() {
    sr_sshd_detect
    case $SR_SSHD_MANAGER in
        systemd) systemctl is-active --quiet "$SR_SSHD_SERVICE" ;;
        sysv) sr_sysv status >/dev/null 2>&1 ;;
        pidfile) sr_sshd_pid "$SR_SSHD_SERVICE" >/dev/null ;;
    esac
}

# --- the dead-man revert ---------------------------------------------------------------------
# An armed revert is a token file, $SR_RUN_DIR/deadman-<id>, that says how the job runs. The job
# (restore.sh with SR_DEADMAN_TOKEN) and a disarm both claim the token by renaming it: rename is
# atomic, so exactly one of them wins and a revert is never cut off half way.

SR_RUN_DIR=${SR_RUN_DIR:-/run/sshremedy}
# Survives a reboot: what is armed there ($SR_STATE_DIR/armed/<id>) is reverted at boot.
SR_STATE_DIR=${SR_STATE_DIR:-/var/lib/sshremedy}

sr_systemd_booted() {
    [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1
}

# True when pid $1 is still the waiting shell that carries tag $2 as its name ($0).
sr_pid_tagged() {
    [ -r "/proc/$1/cmdline" ] && tr '\000' '\n' <"/proc/$1/cmdline" | grep -qxF -- "$2"
}

# Stops the revert armed as $1, if any. Sets sr_deadman_state: disarmed (it had not run),
# fired (it ran or is running: this waits for it to finish) or absent.
sr_deadman_stop() {
    sr_token=$SR_RUN_DIR/deadman-$1
    sr_unit=sshremedy-deadman-$1
    sr_pid=$(cat -- "$sr_token.pid" 2>/dev/null) || sr_pid=
    if mv -- "$sr_token" "$sr_token.disarmed" 2>/dev/null; then
        sr_deadman_state=disarmed
        case $(sed -n 's/^mechanism=//p' "$sr_token.disarmed") in
            systemd) systemctl stop "$sr_unit.timer" "$sr_unit.service" 2>/dev/null || true ;;
            detached)
                # The waiter leads its own session: its process group holds it and its sleep.
                if [ -n "$sr_pid" ] && sr_pid_tagged "$sr_pid" "$sr_unit"; then
                    kill -s TERM -- "-$sr_pid" 2>/dev/null || kill -s TERM "$sr_pid" 2>/dev/null || true
                fi
                ;;
        esac
        rm -f -- "$sr_token.disarmed" "$sr_token.pid" "$SR_STATE_DIR/armed/$1"
    elif [ -e "$sr_token.fired" ]; then
        sr_deadman_state=fired
        sr_i=0
        while [ "$sr_i" -lt 600 ]; do
            if [ "$(sed -n 's/^mechanism=//p' "$sr_token.fired")" = systemd ]; then
                systemctl is-active --quiet "$sr_unit.service" || break
            else
                [ -n "$sr_pid" ] && sr_pid_running "$sr_pid" || break
            fi
            sr_i=$((sr_i + 1))
            sr_nap
        done
        rm -f -- "$sr_token.fired" "$sr_token.pid"
    elif [ -e "$SR_STATE_DIR/armed/$1.fired" ]; then
        # The host rebooted inside the window and its boot put the snapshot back (boot-revert.sh).
        sr_deadman_state=fired
        rm -f -- "$SR_STATE_DIR/armed/$1.fired"
    else
        sr_deadman_state=absent
    fi
    # An elapsed timer stays loaded and a failed revert stays listed: free the name for re-arming.
    if sr_systemd_booted; then
        systemctl stop "$sr_unit.timer" 2>/dev/null || true
        systemctl reset-failed "$sr_unit.timer" "$sr_unit.service" 2>/dev/null || true
    fi
}

# --- the host lock and the change generation ----------------------------------------------------
# One run changes a host at a time. The lock is a directory, $SR_RUN_DIR/lock, holding a file
# `owner` (owner=<run>, since=<epoch s>, expires=<epoch s>); it is built under another name and
# renamed into place, so it never exists without its owner. A lock past its expiry (its run died
# before it armed a dead-man) is taken over. $SR_STATE_DIR/generation counts every release: a run
# plans from a probe that saw generation N, and changes the host only if it is still N once it
# holds the lock, so it never applies a plan made from a host another run has changed since.

sr_generation() {
    cat -- "$SR_STATE_DIR/generation" 2>/dev/null || echo 0
}

sr_generation_bump() {
    # A full disk must not turn a release into a failure: the lock is already gone by then.
    if ! { mkdir -p -m 0700 -- "$SR_STATE_DIR" &&
        printf '%s\n' "$(($(sr_generation) + 1))" >"$SR_STATE_DIR/.generation.$$" &&
        mv -f -- "$SR_STATE_DIR/.generation.$$" "$SR_STATE_DIR/generation"; } 2>/dev/null; then
        rm -f -- "$SR_STATE_DIR/.generation.$$" 2>/dev/null || true
        printf 'sshremedy: could not count a generation in %s (is its file system full?)\n' "$SR_STATE_DIR" >&2
    fi
}

# Sets sr_lock_owner and sr_lock_expires from the lock as it is now (empty: no lock).
sr_lock_read() {
    sr_lock_owner=$(sed -n 's/^owner=//p' "$SR_RUN_DIR/lock/owner" 2>/dev/null) || sr_lock_owner=
    sr_lock_expires=$(sed -n 's/^expires=//p' "$SR_RUN_DIR/lock/owner" 2>/dev/null) || sr_lock_expires=
    sr_lock_since=$(sed -n 's/^since=//p' "$SR_RUN_DIR/lock/owner" 2>/dev/null) || sr_lock_since=
}

# Takes the lock for owner $1 for $3 seconds, waiting up to $2 seconds for another owner to let
# go; a lock $1 already holds is extended. Sets sr_lock_state: acquired, held (was already ours)
# or taken-over (the previous owner's lease had run out). Fails with who holds it.
sr_lock_acquire() {
    mkdir -p -m 0700 -- "$SR_RUN_DIR"
    sr_lock_end=$(($(date +%s) + $2))
    sr_lock_state=acquired
    while :; do
        sr_lock_read
        if [ "$sr_lock_owner" = "$1" ]; then
            sr_lock_write "$1" "$3" "$sr_lock_since"
            sr_lock_state=held
            return 0
        fi
        sr_lock_tmp=$(mktemp -d "$SR_RUN_DIR/.lock.XXXXXX")
        printf 'owner=%s\nsince=%s\nexpires=%s\n' "$1" "$(date +%s)" "$(($(date +%s) + $3))" >"$sr_lock_tmp/owner"
        if mv -T -- "$sr_lock_tmp" "$SR_RUN_DIR/lock" 2>/dev/null; then
            return 0
        fi
        rm -rf -- "$sr_lock_tmp"
        sr_lock_read
        if [ -n "$sr_lock_expires" ] && [ "$(date +%s)" -gt "$sr_lock_expires" ]; then
            # Renamed away first: of two runs taking over at once, one wins the rename. A holder
            # that never armed a dead-man changed nothing; one that did and still holds the lock
            # past its window may have left anything: the generation moves on.
            if mv -T -- "$SR_RUN_DIR/lock" "$SR_RUN_DIR/.stale.$$" 2>/dev/null; then
                if grep -qx 'armed=yes' "$SR_RUN_DIR/.stale.$$/owner" 2>/dev/null; then
                    sr_generation_bump
                fi
                rm -rf -- "$SR_RUN_DIR/.stale.$$"
                sr_lock_state=taken-over
            fi
            continue
        fi
        if [ "$(date +%s)" -ge "$sr_lock_end" ]; then
            sr_die "another sshremedy run is changing this host: its lock is held by ${sr_lock_owner:-a run that is starting} since $(date -u -d "@${sr_lock_since:-0}" '+%H:%M:%S UTC' 2>/dev/null || echo "${sr_lock_since:-?}") and expires at $(date -u -d "@${sr_lock_expires:-0}" '+%H:%M:%S UTC' 2>/dev/null || echo "${sr_lock_expires:-?}"); this run waited $2 s and changed nothing. Run it again once that run has finished (its dead-man window ends at that expiry at the latest)."
        fi
        sr_nap
    done
}

# Rewrites the lock's owner file (owner $1, lease $2 s from now, since $3; $4 = armed once the
# holder armed a dead-man, i.e. may have changed the host).
sr_lock_write() {
    printf 'owner=%s\nsince=%s\nexpires=%s\n%s' "$1" "${3:-$(date +%s)}" "$(($(date +%s) + $2))" "${4:+armed=yes$sr_nl}" >"$SR_RUN_DIR/lock/.owner.$$"
    mv -f -- "$SR_RUN_DIR/lock/.owner.$$" "$SR_RUN_DIR/lock/owner"
}

# Lets go of the lock if owner $1 holds it, and counts a generation. Sets sr_lock_state:
# released, or not-held (it was not ours: it expired and another run took it over, or none).
sr_lock_release() {
    sr_lock_read
    if [ -n "$1" ] && [ "$sr_lock_owner" = "$1" ] && mv -T -- "$SR_RUN_DIR/lock" "$SR_RUN_DIR/.released.$$" 2>/dev/null; then
        rm -rf -- "$SR_RUN_DIR/.released.$$"
        sr_generation_bump
        sr_lock_state=released
    else
        sr_lock_state=not-held
    fi
}

# --- processes -----------------------------------------------------------------------------------

# The start time of pid $1 (clock ticks since boot), which tells it from a later process that got
# the same pid; empty when it is gone.
sr_proc_start() {
    sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $20 }'
}

# The pids whose parent is $1 (from /proc: not every host has pgrep).
sr_children() {
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v p="$1" '{ pid = $1; s = $0; sub(/^.*\) /, "", s); split(s, f, " "); if (f[2] == p) print pid }'
}

# Stops pid $1 and every process under it, then kills them: a change still running on the host
# when its dead-man fires must not go on writing after the revert.
sr_kill_tree() {
    [ "$1" != "$$" ] || return 0
    kill -s STOP "$1" 2>/dev/null || return 0
    for sr_kid in $(sr_children "$1"); do
        sr_kill_tree "$sr_kid"
    done
    kill -s KILL "$1" 2>/dev/null || true
}
