# rescue-offline.sh: sourced first by every phase run in the chroot of a stopped system disk
# (rescue mode). No service manager runs there to ask which one starts sshd: when the disk boots
# with systemd, the ssh unit is named from its unit files, and systemctl works on the files alone
# (SYSTEMD_OFFLINE), so `is-enabled` and `enable` mean what they will mean at the next boot.
set -eu
case $(readlink -f /sbin/init 2>/dev/null || true) in
    */systemd)
        for sr_unit in ssh.service sshd.service; do
            for sr_dir in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
                if [ -f "$sr_dir/$sr_unit" ] && [ ! -L "$sr_dir/$sr_unit" ]; then
                    SR_OFFLINE_SSHD_MANAGER=systemd
                    SR_OFFLINE_SSHD_SERVICE=$sr_unit
                    export SR_OFFLINE_SSHD_MANAGER SR_OFFLINE_SSHD_SERVICE
                    break 2
                fi
            done
        done
        SYSTEMD_OFFLINE=1
        export SYSTEMD_OFFLINE
        ;;
esac
set +eu
