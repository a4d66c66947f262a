# login-key/apply.sh: puts the declared key where sshd reads it for the login user and gives the
# file and the directories above it the owner and modes StrictModes demands, as the plan decided.
#
# Environment (all optional but SR_OWNER):
#   SR_OWNER     uid:gid of the login user
#   SR_KEY_DIR   a directory to create for the key file (mode 0700, owned by the user)
#   SR_KEY_FILE  the file the key is added to (created 0600, owned by the user, when absent)
#   SR_KEY_LINE  the line to add
#   SR_CHOWNS    "<uid>:<gid><TAB><path>" a line: owners to set
#   SR_CHMODS    "<octal><TAB><path>" a line: modes to set
# Prints: created=<dir>, added=<file>, chown=<path>, chmod=<path>.
set -eu
tab=$(printf '\t')
owner=${SR_OWNER:-}
case $owner in *[!0-9:]* | '' | :* | *:) sr_die "SR_OWNER must be uid:gid: got '$owner'" ;; esac

if [ -n "${SR_KEY_DIR:-}" ]; then
    sr_check_path SR_KEY_DIR "$SR_KEY_DIR"
    if [ ! -d "$SR_KEY_DIR" ]; then
        mkdir -m 0700 -- "$SR_KEY_DIR"
        chown -- "$owner" "$SR_KEY_DIR"
        printf 'created=%s\n' "$SR_KEY_DIR"
    fi
fi

if [ -n "${SR_KEY_FILE:-}" ]; then
    sr_check_path SR_KEY_FILE "$SR_KEY_FILE"
    sr_env_content SR_KEY_LINE
    line=$sr_content
    case $line in *"$sr_nl"* | '') sr_die "SR_KEY_LINE must be one line" ;; esac
    new=$SR_KEY_FILE.sshremedy-new
    if [ -f "$SR_KEY_FILE" ]; then
        cat -- "$SR_KEY_FILE" >"$new"
        # A last line without its newline would run into the key.
        [ ! -s "$new" ] || [ "$(tail -c 1 -- "$new" | od -An -c | tr -d ' ')" = '\n' ] || printf '\n' >>"$new"
    else
        : >"$new"
    fi
    printf '%s\n' "$line" >>"$new"
    existed=no
    [ ! -e "$SR_KEY_FILE" ] || existed=yes
    sr_install_file "$new" "$SR_KEY_FILE" 600
    [ "$existed" = yes ] || chown -- "$owner" "$SR_KEY_FILE"
    printf 'added=%s\n' "$SR_KEY_FILE"
fi

printf '%s\n' "${SR_CHOWNS:-}" | while IFS= read -r item; do
    [ -n "$item" ] || continue
    who=${item%%"$tab"*}
    p=${item#*"$tab"}
    case $who in *[!0-9:]* | '' | :* | *:) sr_die "bad owner '$who' for $p" ;; esac
    sr_check_path "SR_CHOWNS entry" "$p"
    chown -- "$who" "$p"
    printf 'chown=%s\n' "$p"
done

printf '%s\n' "${SR_CHMODS:-}" | while IFS= read -r item; do
    [ -n "$item" ] || continue
    mode=${item%%"$tab"*}
    p=${item#*"$tab"}
    case $mode in *[!0-7]* | '') sr_die "bad mode '$mode' for $p" ;; esac
    sr_check_path "SR_CHMODS entry" "$p"
    chmod -- "$mode" "$p"
    printf 'chmod=%s\n' "$p"
done
