import { strict as assert } from "assert";
import fc from "fast-check";
import { shellQuote, sshdValue } from "../../../components/core/quote";
import { isDeclarationError } from "../../../components/core/errors";
import { counted, hasLoneSurrogate, hostileString, params, sample, SEED, sshdUnsafe } from "./arbitraries";
import { argvSplit, parseSshdConfig, SHELLS, shellWords } from "./oracles";

type Quoter = (value: string, argument?: string) => string;
type SshdQuoter = (value: string, argument?: string, options?: { allowSpaces?: boolean }) => string;

/** Every word either refused (a DeclarationError naming the argument) or read back by a real shell exactly as given. */
function shellQuoteProperty(quote: Quoter, shells: readonly string[] = SHELLS) {
    return fc.property(fc.array(hostileString, { minLength: 1, maxLength: 40 }), (values) => {
        const quoted: string[] = [];
        const kept: string[] = [];
        for (const v of values) {
            let q: string;
            try {
                q = quote(v, "SR_X");
            } catch (e) {
                if (!isDeclarationError(e) || e.argument !== "SR_X") throw e;
                // Only what no shell argument can carry exactly may be refused.
                assert.ok(v.includes("\0") || hasLoneSurrogate(v), `refused ${JSON.stringify(v)}: ${e.message}`);
                continue;
            }
            quoted.push(q);
            kept.push(v);
        }
        for (const shell of shells) {
            assert.deepEqual(shellWords(quoted, shell), kept, `${shell} did not read the quoted words back`);
        }
    });
}

/** Every value either refused naming the argument, or written as one token that sshd reads back exactly, on one line. */
function sshdValueProperty(quote: SshdQuoter) {
    return fc.property(hostileString, fc.boolean(), (v, allowSpaces) => {
        let token: string;
        try {
            token = quote(v, "settings.extra.Banner", { allowSpaces });
        } catch (e) {
            if (!isDeclarationError(e)) throw e;
            assert.equal(e.argument, "settings.extra.Banner");
            assert.ok(e.message.startsWith("settings.extra.Banner: "), e.message);
            return;
        }
        assert.ok(!sshdUnsafe(v), `accepted ${JSON.stringify(v)}, which sshd_config cannot carry as a value`);
        assert.deepEqual(argvSplit(token), [v]);
        const lines = parseSshdConfig(`Banner ${token}\nPort 22\n`);
        assert.deepEqual(lines.map((l) => [l.keyword, l.args]), [["banner", [v]], ["port", ["22"]]]);
    });
}

// After every suite of the run: how many generated cases the properties checked.
after(() => console.log(`  [property] ${counted.runs} generated cases, seed ${SEED} (SR_PROPERTY_SEED=${SEED} runs them again)`));

describe("[property] the one quoting path: shellQuote and sshdValue", () => {
    before(() => console.log(`      seed ${SEED} (SR_PROPERTY_SEED), shells: ${SHELLS.join(", ")}`));

    it("[property] shellQuote: every text without NUL or a lone surrogate comes back from a real sh exactly; the rest is refused naming the argument", () => {
        fc.assert(shellQuoteProperty(shellQuote), params(40));
    });

    it("[property] shellQuote, in bulk: thousands of hostile texts in one script per shell come back exactly", () => {
        const words = sample(hostileString, 4000).filter((v) => !v.includes("\0") && !hasLoneSurrogate(v));
        for (const shell of SHELLS) {
            const back = shellWords(words.map((w) => shellQuote(w)), shell);
            const first = words.findIndex((w, i) => back[i] !== w);
            assert.equal(first, -1, `${shell}: ${JSON.stringify(words[first])} came back as ${JSON.stringify(back[first])}`);
            assert.equal(back.length, words.length);
        }
    });

    it("[property] sshdValue: a value is refused naming the argument, or is one sshd token that reads back exactly", () => {
        fc.assert(sshdValueProperty(sshdValue), params(5000));
    });

    it("[property] sshdValue with allowSpaces: group names with inner spaces become one double-quoted token", () => {
        fc.assert(fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9._-]{1,8}$/), { minLength: 2, maxLength: 4 }), (words) => {
            const v = words.join(" ");
            assert.deepEqual(argvSplit(sshdValue(v, "g", { allowSpaces: true })), [v]);
        }), params(300));
    });

    // A property that passes with a broken quoter proves nothing: each must catch the bug it is for.
    describe("[property] the properties catch a broken quoter (meta)", () => {
        const fails = <T extends unknown[]>(p: fc.IPropertyWithHooks<T>, what: string, numRuns = 2000) => {
            const r = fc.check(p, { seed: SEED, numRuns });
            assert.equal(r.failed, true, `the property did not catch ${what}`);
        };
        it("[property] a shellQuote that forgot to escape ' is caught", () => {
            fails(shellQuoteProperty((v) => `'${v}'`, SHELLS.slice(0, 1)), "an unescaped single quote", 200);
        });
        it("[property] a shellQuote that uses double quotes ($(…) and backticks expand) is caught", () => {
            fails(shellQuoteProperty((v) => `"${v.replace(/"/g, '\\"')}"`, SHELLS.slice(0, 1)), "double quotes", 200);
        });
        it("[property] a shellQuote that lets a lone surrogate through (sent as U+FFFD) is caught", () => {
            fails(shellQuoteProperty((v, a) => (v.includes("\0") ? shellQuote(v, a) : `'${v.replace(/'/g, `'\\''`)}'`), SHELLS.slice(0, 1)), "a lone surrogate", 200);
        });
        const loose = (skip: RegExp): SshdQuoter => (v, a, o) => {
            try {
                return sshdValue(v, a, o);
            } catch (e) {
                // The broken quoter lets through what the real one refuses for this reason.
                if (isDeclarationError(e) && skip.test(e.problem)) return v.includes(" ") && o?.allowSpaces ? `"${v}"` : v;
                throw e;
            }
        };
        it("[property] an sshdValue that lets a line break through (a new directive) is caught", () => {
            fails(sshdValueProperty(loose(/line break|control character/)), "a line break");
        });
        it("[property] an sshdValue that lets quotes and backslashes through is caught", () => {
            fails(sshdValueProperty(loose(/quoting/)), "a quote");
        });
        it("[property] an sshdValue that does not refuse a space (sshd reads two values) is caught", () => {
            fails(sshdValueProperty(loose(/space/)), "a space");
        });
        it("[property] an sshdValue that lets '#' through (the rest is a comment) is caught", () => {
            fails(sshdValueProperty(loose(/'#'/)), "a '#'");
        });
    });
});
