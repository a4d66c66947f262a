/**
 * Request parameters as the API checks them: typed, documented names only (any other name is
 * `UnknownParameter`, which is how the service answers a misspelt field), with Tencent's codes.
 */

/** An error the API answers with `Response.Error{Code, Message}` (always HTTP 200). */
export class ApiError extends Error {
    constructor(readonly code: string, message: string) {
        super(message);
    }
}

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Params = Record<string, Json>;

export function isObject(v: unknown): v is Record<string, Json> {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Refuses names the action does not document. */
export function onlyKnown(obj: Record<string, Json>, allowed: readonly string[], where = ""): void {
    for (const k of Object.keys(obj)) {
        if (!allowed.includes(k)) {
            throw new ApiError("UnknownParameter", `The parameter \`${where}${k}\` is not recognized.`);
        }
    }
}

function typeError(name: string, want: string): ApiError {
    return new ApiError("InvalidParameter", `The parameter \`${name}\` must be ${want}.`);
}

export function optString(p: Params, name: string): string | undefined {
    const v = p[name];
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v !== "string") {
        throw typeError(name, "a string");
    }
    return v;
}

export function reqString(p: Params, name: string): string {
    const v = optString(p, name);
    if (v === undefined || v === "") {
        throw new ApiError("MissingParameter", `The request is missing a required parameter \`${name}\`.`);
    }
    return v;
}

export function optInt(p: Params, name: string): number | undefined {
    const v = p[name];
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v !== "number" || !Number.isInteger(v)) {
        throw typeError(name, "an integer");
    }
    return v;
}

export function optBool(p: Params, name: string): boolean | undefined {
    const v = p[name];
    if (v === undefined || v === null) {
        return undefined;
    }
    if (typeof v !== "boolean") {
        throw typeError(name, "a boolean");
    }
    return v;
}

export function optStrings(p: Params, name: string): string[] | undefined {
    const v = p[name];
    if (v === undefined || v === null) {
        return undefined;
    }
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
        throw typeError(name, "an array of strings");
    }
    return v as string[];
}

export function reqStrings(p: Params, name: string): string[] {
    const v = optStrings(p, name);
    if (!v || v.length === 0) {
        throw new ApiError("MissingParameter", `The request is missing a required parameter \`${name}\`.`);
    }
    return v;
}

export interface Filter {
    readonly name: string;
    readonly values: readonly string[];
}

/** `Filters: [{Name, Values}]`, each name one of `known` (else `invalidFilterCode`). */
export function optFilters(p: Params, known: readonly string[], invalidFilterCode: string): Filter[] | undefined {
    const v = p.Filters;
    if (v === undefined || v === null) {
        return undefined;
    }
    if (!Array.isArray(v)) {
        throw typeError("Filters", "an array of {Name, Values}");
    }
    return v.map((f, i) => {
        if (!isObject(f)) {
            throw typeError(`Filters.${i}`, "an object {Name, Values}");
        }
        onlyKnown(f, ["Name", "Values"], `Filters.${i}.`);
        const name = reqString(f, "Name");
        const values = reqStrings(f, "Values");
        if (!known.includes(name)) {
            throw new ApiError(invalidFilterCode, `The filter \`${name}\` is not supported; supported: ${known.join(", ")}.`);
        }
        return { name, values };
    });
}

/** Offset and Limit with the API's defaults and bounds. */
export function page(p: Params, defaultLimit: number, maxLimit: number, limitCode: string): { offset: number; limit: number } {
    const offset = optInt(p, "Offset") ?? 0;
    const limit = optInt(p, "Limit") ?? defaultLimit;
    if (offset < 0) {
        throw new ApiError("InvalidParameterValue", "`Offset` must not be negative.");
    }
    if (limit < 0 || limit > maxLimit) {
        throw new ApiError(limitCode, `\`Limit\` must be between 0 and ${maxLimit}; got ${limit}.`);
    }
    return { offset, limit };
}

/** "2019-07-08 00:03:13" in China Standard Time (UTC+8), the form CBS uses for its times. */
export function cstTime(ms: number): string {
    return new Date(ms + 8 * 3600_000).toISOString().slice(0, 19).replace("T", " ");
}

/** "2020-03-10T02:43:51Z", the ISO 8601 form CVM and TAT use. */
export function isoTime(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
