/**
 * An argument that must not reach sshd_config or a shell. Raised before anything is sent to a
 * host, so `pulumi preview` fails with it and the host is untouched.
 */
export class DeclarationError extends Error {
    /** The argument at fault, as the user wrote it in the stack: `allowUsers[1]`, `extra.Banner`. */
    readonly argument: string;

    constructor(argument: string, problem: string, fix: string) {
        super(`${argument}: ${problem}. Fix: ${fix}`);
        this.name = "DeclarationError";
        this.argument = argument;
    }
}

export function isDeclarationError(value: unknown): value is DeclarationError {
    return value instanceof DeclarationError;
}
