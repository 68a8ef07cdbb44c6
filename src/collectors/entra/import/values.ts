// Cell values of the exports, turned into what Graph would have sent. Every helper
// returns undefined for an empty cell, so a value the file does not carry stays absent
// (never 0, false or "") — the rules then treat it as not evaluable.

type Json = Record<string, unknown>;

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * An export's time as a Graph-style ISO instant (UTC), or undefined if it is not one:
 * - ISO 8601 ("2024-07-23T15:37:27Z", "2024-07-23T15:37:27.1234567+00:00"; without an
 *   offset it is UTC: the admin center writes UTC, docs "Download logs in Microsoft
 *   Entra ID");
 * - Log Analytics CSV ("7/23/2024, 3:37:27.000 PM": US month/day order, 12-hour clock,
 *   in UTC as its column header "TimeGenerated [UTC]" says).
 * Invalid calendar dates (2/30) are refused rather than rolled over.
 */
export function parseExportInstant(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  const iso = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$/i.exec(text);
  if (iso) {
    const [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
    return `${iso[1]}-${iso[2]}-${iso[3]}T${iso[4]}:${iso[5]}:${iso[6]}${iso[7] ?? ''}${(iso[8] ?? 'Z').toUpperCase()}`;
  }
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4}),?\s+(\d{1,2}):(\d{2}):(\d{2})(\.\d{1,7})?\s*([AP]M)$/i.exec(text);
  if (us) {
    const [month, day, year, hour12] = [Number(us[1]), Number(us[2]), Number(us[3]), Number(us[4])];
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour12 < 1 || hour12 > 12) return undefined;
    const hour = (hour12 % 12) + (us[8]!.toUpperCase() === 'PM' ? 12 : 0);
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${year}-${pad(month)}-${pad(day)}T${pad(hour)}:${us[5]}:${us[6]}${us[7] ?? ''}Z`;
  }
  return undefined;
}

export const cellText = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return value === null || value === undefined ? undefined : String(value);
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
};

/** "true"/"True"/"Yes" etc.; undefined when empty or unrecognised. */
export function cellBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  const text = cellText(value)?.toLowerCase();
  if (text === 'true' || text === 'yes') return true;
  if (text === 'false' || text === 'no') return false;
  return undefined;
}

/** An integer cell ("0", "50126"); undefined when empty or not an integer. */
export function cellInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  const text = cellText(value);
  return text !== undefined && /^-?\d+$/.test(text) ? Number(text) : undefined;
}

/** A Log Analytics dynamic column: an object as is, or its JSON text (CSV exports and
 *  some tables, e.g. AADNonInteractiveUserSignInLogs, carry them as strings). */
export function dynamicValue(value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'string') return value;
  const text = value.trim();
  if (text === '') return undefined;
  if (text.startsWith('{') || text.startsWith('[')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * authenticationRequirement as Graph's enum. The admin center's CSV writes its label
 * ("Multifactor authentication", "Single-factor authentication"); Graph and Log
 * Analytics write the enum (multiFactorAuthentication, singleFactorAuthentication).
 * Anything else is not understood and left absent (the original stays in raw).
 */
export function authenticationRequirement(value: unknown): string | undefined {
  const text = cellText(value);
  if (!text) return undefined;
  const letters = text.toLowerCase().replace(/[^a-z]/g, '');
  if (letters === 'multifactorauthentication' || letters === 'multifactor') return 'multiFactorAuthentication';
  if (letters === 'singlefactorauthentication' || letters === 'singlefactor') return 'singleFactorAuthentication';
  return undefined;
}

/** A portal label of an enum ("Not Applied", "Success", "Member") as Graph's camelCase value. */
export function enumValue(value: unknown): string | undefined {
  const text = cellText(value);
  if (!text) return undefined;
  const words = text.split(/[\s_-]+/).filter(Boolean);
  return words
    .map((word, i) => (i === 0 ? word.charAt(0).toLowerCase() + word.slice(1) : word.charAt(0).toUpperCase() + word.slice(1)))
    .join('');
}

/** Sets a dotted path ("status.errorCode") when the value is present. */
export function setPath(target: Json, path: string, value: unknown): void {
  if (value === undefined) return;
  const keys = path.split('.');
  let current = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof current[key] !== 'object' || current[key] === null) current[key] = {};
    current = current[key] as Json;
  }
  current[keys[keys.length - 1]!] = value;
}
