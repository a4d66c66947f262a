/** IP literals as sshd reads them: parsed to numbers, so prefixes can be checked and addresses printed canonically. */

export interface IpAddress {
    readonly family: 4 | 6;
    /** The address as an unsigned integer (32 or 128 bits). */
    readonly value: bigint;
}

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function parseV4(text: string): bigint | undefined {
    if (!V4.test(text)) return undefined;
    return text.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
}

function parseV6(text: string): bigint | undefined {
    let groups: string[];
    const halves = text.split("::");
    if (halves.length > 2) return undefined;
    const head = halves[0] === "" ? [] : halves[0].split(":");
    const tail = halves.length === 2 && halves[1] !== "" ? halves[1].split(":") : [];
    let v4Tail: bigint | undefined;
    const last = (halves.length === 2 ? tail : head).at(-1);
    if (last !== undefined && last.includes(".")) {
        v4Tail = parseV4(last);
        if (v4Tail === undefined) return undefined;
        (halves.length === 2 ? tail : head).pop();
    }
    const width = v4Tail === undefined ? 8 : 6;
    if (halves.length === 2) {
        const missing = width - head.length - tail.length;
        if (missing < 1) return undefined;
        groups = [...head, ...Array<string>(missing).fill("0"), ...tail];
    } else {
        groups = head;
    }
    if (groups.length !== width || !groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    let value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
    if (v4Tail !== undefined) value = (value << 32n) | v4Tail;
    return value;
}

export function parseIp(text: string): IpAddress | undefined {
    const v4 = parseV4(text);
    if (v4 !== undefined) return { family: 4, value: v4 };
    const v6 = text.includes(":") ? parseV6(text) : undefined;
    return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** Dotted quad, or RFC 5952 text (lowercase, longest run of zero groups shortened to `::`), as sshd -T prints. */
export function formatIp(ip: IpAddress): string {
    if (ip.family === 4) {
        return [24n, 16n, 8n, 0n].map((shift) => String((ip.value >> shift) & 0xffn)).join(".");
    }
    const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
    let best = { start: -1, length: 1 };
    for (let i = 0; i < 8; i++) {
        let j = i;
        while (j < 8 && groups[j] === 0) j++;
        if (j - i > best.length) best = { start: i, length: j - i };
        i = j;
    }
    const hex = groups.map((g) => g.toString(16));
    if (best.start < 0) return hex.join(":");
    const left = hex.slice(0, best.start).join(":");
    const right = hex.slice(best.start + best.length).join(":");
    return `${left}::${right}`;
}

/** Whether the address has no bits set past the first `prefix` bits (sshd rejects `10.0.0.1/8`). */
export function isNetworkAddress(ip: IpAddress, prefix: number): boolean {
    const bits = ip.family === 4 ? 32 : 128;
    const hostMask = (1n << BigInt(bits - prefix)) - 1n;
    return (ip.value & hostMask) === 0n;
}

export function networkAddress(ip: IpAddress, prefix: number): IpAddress {
    const bits = ip.family === 4 ? 32 : 128;
    const hostMask = (1n << BigInt(bits - prefix)) - 1n;
    return { family: ip.family, value: ip.value & ~hostMask };
}
