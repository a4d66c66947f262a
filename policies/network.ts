import { hostBits, parseSource, Source } from "../components/hosts-access/hosts-access";

/** `inner` lies wholly inside `outer` (an address or CIDR; host bits of `outer` masked as firewalls do). */
export function holds(outer: string, inner: Source): boolean {
    const o = hostBits(outer);
    return o !== undefined && o.family === inner.family && o.lo <= inner.lo && inner.hi <= o.hi;
}

/** An address or CIDR that holds every address of its family (`0.0.0.0/0`, `::/0`). */
export function isEverywhere(text: string): boolean {
    const s = parseSource(text);
    return s !== undefined && s.lo === 0n && s.hi === (1n << (s.family === 4 ? 32n : 128n)) - 1n;
}
