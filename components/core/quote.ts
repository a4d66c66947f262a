import { DeclarationError } from "./errors";

/**
 * Half of a UTF-16 surrogate pair with no other half: JavaScript strings (and JSON config) may hold
 * one, but UTF-8 cannot, so the script, file or argv sent to the host would carry U+FFFD instead.
 */
export const LONE_SURROGATE = /\p{Surrogate}/u;
export const LONE_SURROGATE_PROBLEM = "contains a lone UTF-16 surrogate, which UTF-8 text cannot carry (the host would get U+FFFD instead)";
export const LONE_SURROGATE_FIX = "give well-formed Unicode text";

/**
 * The one way a value reaches a shell: POSIX single quotes, inside which the shell interprets
 * nothing, so `$(…)`, backticks, `;` and newlines stay literal. A single quote is written as
 * `'\''` (close, escaped quote, reopen). NUL cannot be passed to a shell at all, nor a lone surrogate as UTF-8.
 */
export function shellQuote(value: string, argument = "value"): string {
    if (value.includes("\0")) {
        throw new DeclarationError(argument, "contains a NUL byte, which no shell argument can carry", "remove the NUL byte");
    }
    if (LONE_SURROGATE.test(value)) {
        throw new DeclarationError(argument, LONE_SURROGATE_PROBLEM, LONE_SURROGATE_FIX);
    }
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface SshdValueOptions {
    /**
     * The keyword takes a single argument that may contain spaces (a group name like
     * `domain users`, a path): sshd_config(5) reads a double-quoted argument as one token.
     * Defaults to false: a space would split the value into two arguments.
     */
    readonly allowSpaces?: boolean;
}

/**
 * The one way a value token reaches sshd_config. Refuses anything that could end the directive
 * early or start another one (line breaks, `#`, control characters), characters sshd_config's
 * tokenizer gives meaning to (quotes, backslash, a leading `=`), and stray whitespace. Returns the token as it
 * must be written: double-quoted when it holds spaces and `allowSpaces` is set.
 */
export function sshdValue(value: string, argument = "value", options: SshdValueOptions = {}): string {
    const refuse = (problem: string, fix: string): never => {
        throw new DeclarationError(argument, problem, fix);
    };
    if (value.length === 0) refuse("is empty", "give a non-empty value or omit the argument");
    if (value.includes("\0")) refuse("contains a NUL byte", "remove the NUL byte");
    if (LONE_SURROGATE.test(value)) refuse(LONE_SURROGATE_PROBLEM, LONE_SURROGATE_FIX);
    if (/[\r\n]/.test(value)) {
        refuse("contains a line break, which would start a new sshd_config directive", "remove the line break");
    }
    const control = /[\x00-\x1f\x7f]/.exec(value);
    if (control) {
        const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
        refuse(`contains the control character U+${code}`, "remove it; sshd_config values are printable text");
    }
    if (value.trim() !== value) refuse("has leading or trailing whitespace", "trim the value");
    if (value.includes("#")) refuse("contains '#', which starts a comment in sshd_config", "remove the '#'");
    // sshd takes one '=' after the keyword as the separator (`Banner =/x` is `Banner /x`).
    if (value.startsWith("=")) refuse("starts with '=', which sshd_config reads as the separator after the keyword", "remove the leading '='");
    const special = /["'\\]/.exec(value);
    if (special) {
        refuse(`contains ${special[0]}, which sshd_config's tokenizer treats as quoting`, `remove the ${special[0]}`);
    }
    if (value.includes(" ")) {
        if (!options.allowSpaces) {
            refuse("contains a space, so sshd would read it as separate values", "give one value per list entry, without spaces");
        }
        return `"${value}"`;
    }
    return value;
}
