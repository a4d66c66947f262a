/**
 * The one error for a bad declaration: a value that must not reach sshd_config or a shell, or
 * that would lock the login out. Raised before anything is sent to a host (at construction for
 * known values, before the first script for values known only at deploy time), so `pulumi
 * preview` fails with it and the host is untouched. Its path is the user's own argument.
 */
export class DeclarationError extends Error {
    /** The argument at fault, as the user wrote it: `login.sources[0]`, `sshd.settings.allowUsers[1]`. */
    readonly argument: string;
    readonly problem: string;
    readonly fix: string;

    constructor(argument: string, problem: string, fix: string) {
        super(`${argument}: ${problem}. Fix: ${fix}`);
        this.name = "DeclarationError";
        this.argument = argument;
        this.problem = problem;
        this.fix = fix;
    }

    /** The same error under an outer argument: `under("hosts[2]")` turns `login.user` into `hosts[2].login.user`. */
    under(prefix: string): DeclarationError {
        return new DeclarationError(joinPath(prefix, this.argument), this.problem, this.fix);
    }
}

export function isDeclarationError(value: unknown): value is DeclarationError {
    return value instanceof DeclarationError;
}

/** `a` + `b` as an argument path: `login` + `user` is `login.user`, `allow` + `[0]` is `allow[0]`. */
export function joinPath(prefix: string, inner: string): string {
    if (prefix === "") return inner;
    if (inner === "") return prefix;
    return inner.startsWith("[") ? `${prefix}${inner}` : `${prefix}.${inner}`;
}

/**
 * Runs an inner validator whose paths are its own (`allow[0]`) and reports them as the user
 * wrote them: `rename` maps the inner path's first segment (`allow`) to the user's (`firewall.allow`).
 */
export function validatedAs<T>(rename: (head: string) => string, check: () => T): T {
    try {
        return check();
    } catch (e) {
        if (!isDeclarationError(e)) throw e;
        // `s`: a hostile key may put a line break into the argument (`extra["X11Forwarding\nMatch all"]`).
        const m = /^([^.[]*)(.*)$/s.exec(e.argument)!;
        throw new DeclarationError(`${rename(m[1])}${m[2]}`, e.problem, e.fix);
    }
}
