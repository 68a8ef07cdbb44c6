// Canonical JSON: the byte form that the content hash and the signature cover.
// Object keys sorted by UTF-16 code units (as JSON.stringify would order them after a
// sort, and as RFC 8785 does), no insignificant whitespace, numbers in ECMAScript's
// shortest round-trip form (deterministic across Node versions), strings escaped as
// JSON.stringify does. Undefined object members are left out, as JSON.stringify does,
// so an optional field that is absent and one that is undefined hash the same.
// Non-finite numbers, undefined array items, functions and other non-JSON values are
// rejected instead of being silently turned into null.

export function canonicalReportJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, at: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${at} is not a finite number`);
      // -0 and 0 must hash the same.
      return Object.is(value, -0) ? '0' : JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value
          .map((item, index) => {
            if (item === undefined) throw new TypeError(`canonical JSON: ${at}[${index}] is undefined`);
            return write(item, `${at}[${index}]`);
          })
          .join(',')}]`;
      }
      if (value instanceof Date) throw new TypeError(`canonical JSON: ${at} is a Date; store ISO strings in the model`);
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${write(record[key], `${at}.${key}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: ${at} has type ${typeof value}, which JSON cannot hold`);
  }
}
