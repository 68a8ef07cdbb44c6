// The packed form of a verbatim record (migration 0012): the big event tables keep the
// upstream record, and the normalised columns that only repeat it and that no query
// reads, in one `raw_packed` bytea instead of a jsonb `raw` and their own columns.
// Postgres compresses a value only when its row exceeds ~2 KB (TOAST_TUPLE_THRESHOLD), and
// a sign-in is ~1.4 KB of jsonb, so the writer compresses: deflate (RFC 1951, Node's
// zlib) with a preset dictionary of the source's field names and common values, which
// takes a 1,341-byte generated sign-in to ~250 bytes (docs/scale.md).
//
// Every reader of a record of these tables goes through this file (decodeStoredRow,
// unpackRecord): the chain verifier, the console's evidence and timeline, the tests.
//
// Layout of raw_packed: one format byte, then the payload.
//   0      the payload is the UTF-8 JSON text itself (not written today; kept for a
//          conversion that cannot compress, e.g. one done in SQL)
//   1..n   the payload is raw deflate of that JSON text with preset dictionary n
// The JSON text is `[record, {column: value, ...}]`: the record exactly as the writer
// received it (JSON.stringify, so the same JSON value jsonb held and the same record
// hash), then the packed columns' normalised values (nulls left out).
//
// A dictionary, once written with, is part of the store's format forever: changing one
// makes every record written with it unreadable (test/unit/record-codec.test.ts pins
// their hashes). A better dictionary is a new number.
import { deflateRawSync, inflateRawSync } from 'node:zlib';

import { DICTIONARIES } from './record-dictionaries.js';
import { type EventTableName, eventTables } from './tables.js';

export interface UnpackedRecord {
  raw: unknown;
  /** The packed columns' values, by column name (absent = null). */
  columns: Record<string, unknown>;
}

const dictionaryBuffers = new Map<number, Buffer>();

function dictionary(format: number): Buffer {
  let buffer = dictionaryBuffers.get(format);
  if (!buffer) {
    const text = DICTIONARIES[format];
    if (text === undefined) throw new Error(`raw_packed: unknown format ${format} (written by a newer accesstrail?)`);
    buffer = Buffer.from(text, 'utf8');
    dictionaryBuffers.set(format, buffer);
  }
  return buffer;
}

/** The JSON text of a record and its packed columns, as packRecord stores it. */
export function packedJson(raw: unknown, columns: Record<string, unknown>, rawJson: string = JSON.stringify(raw ?? null)): string {
  const present: Record<string, unknown> = Object.create(null) as Record<string, unknown>; // any name is a plain key
  for (const [name, value] of Object.entries(columns)) if (value !== null && value !== undefined) present[name] = value;
  return `[${rawJson},${JSON.stringify(present)}]`;
}

/** Packs a record (and its packed columns) with dictionary `format`. `rawJson`, when
 *  given, is JSON.stringify(raw) made already. */
export function packRecord(format: number, raw: unknown, columns: Record<string, unknown>, rawJson?: string): Buffer {
  const text = Buffer.from(packedJson(raw, columns, rawJson), 'utf8');
  const body = deflateRawSync(text, { level: 6, dictionary: dictionary(format) });
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = format;
  body.copy(out, 1);
  return out;
}

/** The bytes of a bytea as a driver or to_jsonb hands them over: a Buffer (pg), a
 *  Uint8Array (PGlite), or the text form `\x…` (to_jsonb of a row, e.g. an archived revision). */
function bytesOf(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string' && value.startsWith('\\x')) return Buffer.from(value.slice(2), 'hex');
  throw new Error('raw_packed: not a bytea value');
}

/** The record and packed columns of a raw_packed value. */
export function unpackRecord(value: unknown): UnpackedRecord {
  const bytes = bytesOf(value);
  if (bytes.length === 0) throw new Error('raw_packed: empty');
  const format = bytes[0]!;
  const body = bytes.subarray(1);
  const text = format === 0 ? body.toString('utf8') : inflateRawSync(body, { dictionary: dictionary(format) }).toString('utf8');
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || parsed.length !== 2 || parsed[1] === null || typeof parsed[1] !== 'object')
    throw new Error('raw_packed: not a [record, columns] pair');
  return { raw: parsed[0], columns: parsed[1] as Record<string, unknown> };
}

/** A stored row of an evidence table with its record and every column as the writer
 *  meant them, whichever form it was stored in: a row with raw_packed gets `raw` and
 *  the packed columns (`packedColumns`, the table spec's) from it; a row written before
 *  0012 (raw jsonb) is returned as it is. */
export function decodeStoredRow<R extends Record<string, unknown>>(row: R, packedColumns: readonly string[] = []): R {
  const packed = row['raw_packed'];
  if (packed === null || packed === undefined) return row;
  const { raw, columns } = unpackRecord(packed);
  const out: Record<string, unknown> = { ...row, raw };
  // The packed columns come from the record alone, whatever their own column holds.
  for (const name of packedColumns) out[name] = null;
  for (const [name, value] of Object.entries(columns)) out[name] = value;
  delete out['raw_packed'];
  return out as R;
}

/** Just the verbatim record of a stored row (raw, or unpacked from raw_packed). */
export function storedRaw(row: { raw?: unknown; raw_packed?: unknown }): unknown {
  if (row.raw_packed !== null && row.raw_packed !== undefined) return unpackRecord(row.raw_packed).raw;
  return row.raw ?? null;
}

/** decodeStoredRow with the packed columns of event table `table` (tables.ts). */
export function decodeEventRow<R extends Record<string, unknown>>(table: EventTableName | string, row: R): R {
  const spec = (eventTables as Record<string, { packed?: { columns: readonly string[] } }>)[table];
  return decodeStoredRow(row, spec?.packed?.columns ?? []);
}
