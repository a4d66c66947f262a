/** Concerns whose state lives in the running kernel, not on the disk: not repaired from rescue mode. */
export const notFromRescue: Readonly<Record<string, string>> = {
    "selinux-mode": "SELinux's mode and labels are the running kernel's: checked by the next run that reaches the instance over SSH or TAT",
};
