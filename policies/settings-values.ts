import { list } from "./declaration";

/** A setting as declared globally and in each Match block, with the path that names it. */
export function declaredValues(settings: Record<string, unknown>, settingsPath: string, field: string): Array<{ path: string; value: unknown }> {
    const out = settings[field] === undefined ? [] : [{ path: `${settingsPath}.${field}`, value: settings[field] }];
    list(settings.match).forEach((block, i) => {
        const value = (block as { settings?: Record<string, unknown> } | null)?.settings?.[field];
        if (value !== undefined) out.push({ path: `${settingsPath}.match[${i}].settings.${field}`, value });
    });
    return out;
}
