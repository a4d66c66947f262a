/** The pure core of the SshdConfig component: validation, quoting, rendering and effective-value checks. */
export { DeclarationError, isDeclarationError } from "../core/errors";
export { shellQuote, sshdValue } from "../core/quote";
export type { SshdValueOptions } from "../core/quote";
export { validateSshdSettings } from "./validate";
export type {
    AddressFamily, PermitRootLogin, SshdDirective, SshdMatchBlock, SshdMatchCriteria, SshdMatchSection,
    SshdMatchSettings, SshdSettings, ValidatedSshd,
} from "./validate";
export { MARKER, declaredKeywords, neutraliseDropIn, renderManaged, renderReplace, replaceSettings } from "./render";
export type { NeutralisedDropIn } from "./render";
export { distroDefaults, distroLookupOrder } from "./distro";
export type { Distro, DistroFamily } from "./distro";
export { compareEffective, effectiveChecks, parseSshdT } from "./effective";
export type { EffectiveCheck, EffectiveMismatch } from "./effective";
export { MATCH_KEYWORDS, SERVER_KEYWORDS } from "./keywords";
