// How an evidence row is hashed, shared by the writer and the verifier so the two can
// never disagree. A row's hash covers its lead value (occurred_at for events, present
// for state), its normalised columns and its verbatim record, as canonical JSON (keys
// sorted, no whitespace); the batch content hash covers the sorted "key:hash" lines.
// Hashing happens in Node, not SQL: re-serialising jsonb inside Postgres cost more
// than the insert itself (bench/store-ingest).
import { createHash } from 'node:crypto';

import type { ColumnSpec, EvidenceTableSpec } from './tables.js';

/** JSON with object keys sorted at every level: the same value gives the same text
 *  whatever order its keys were written or stored in (jsonb reorders them). It follows
 *  JSON.stringify for what upstream records may hold (a Date becomes its ISO text, as it
 *  does on its way into jsonb), so a row hashes the same before and after storage. The
 *  report's canonical form (src/reports/canonical-json.ts, canonicalReportJson) is deliberately stricter: it
 *  refuses Dates and non-finite numbers in a signed document. */
export function canonicalRecordJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalRecordJson(value[i]);
        return `${out}]`;
      }
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const object = value as Record<string, unknown>;
      const keys = Object.keys(object).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const item = object[key];
        if (item === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalRecordJson(item)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      return JSON.stringify(value) ?? 'null';
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The value of a normalised column as stored and as hashed: the writer sends exactly
 *  this, and the verifier brings what it reads back to the same form. */
export function normaliseColumnValue(column: ColumnSpec, value: unknown): string | number | boolean | string[] | null {
  if (value === undefined || value === null) return null;
  switch (column.type) {
    case 'timestamptz': {
      const date = value instanceof Date ? value : new Date(String(value));
      if (Number.isNaN(date.getTime())) throw new Error(`${column.name}: not a time: ${String(value).slice(0, 40)}`);
      return date.toISOString();
    }
    case 'text[]':
      return (value as unknown[]).map((item) => String(item));
    case 'integer':
    case 'bigint': {
      const number = Number(value);
      if (!Number.isFinite(number)) throw new Error(`${column.name}: not a number: ${String(value).slice(0, 40)}`);
      return number;
    }
    case 'boolean':
      return Boolean(value);
    default:
      return String(value);
  }
}

/** Record hash from values already normalised (normaliseColumnValue) and the raw record. */
export function recordHash(lead: unknown, columnValues: readonly unknown[], raw: unknown): string {
  return sha256Hex(canonicalRecordJson([lead, ...columnValues, raw ?? null]));
}

export function tombstoneHash(spec: EvidenceTableSpec): string {
  return recordHash(
    false,
    spec.columns.map(() => null),
    null,
  );
}

export function stateKey(upstreamId: string, observedAt: Date): string {
  return `${upstreamId}@${observedAt.toISOString()}`;
}

/** Content hash of a batch from its (key, record hash) pairs, order-independent. */
export function contentHash(entries: readonly { key: string; hash: string }[]): string {
  const lines = entries.map((entry) => `${entry.key}:${entry.hash}`).sort();
  return sha256Hex(lines.join('\n'));
}
