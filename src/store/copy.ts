// COPY … FROM STDIN inside a Kysely transaction, on both engines. Kysely has no COPY,
// so the store's drivers agree on one convention: a statement `copy <table> (<columns>)
// from stdin` sent with exactly ONE parameter, a CopyData (the rows in COPY's text
// format), is run as a COPY with that data (database.ts: pg-copy-streams on the connection; pglite-dialect.ts:
// PGlite's COPY from '/dev/blob'). Anything else runs as a normal statement.
// The evidence writer (evidence.repository.ts) loads its batches this way.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { CompiledQuery, type Transaction } from 'kysely';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import type { Database } from './schema.js';
import type { ColumnType } from './tables.js';

const COPY_FROM_STDIN = /^\s*copy\s+[a-z_][a-z0-9_]*\s*\([a-z0-9_,\s]+\)\s+from\s+stdin\s*$/i;

/** The data of a COPY: pieces of COPY text, produced as the server consumes them (on
 *  Postgres the rows are built while the server loads the ones before; PGlite, which
 *  runs in this process, takes them all at once). */
export class CopyData {
  #afterSent: (() => void) | undefined;
  #failure: { error: unknown } | undefined;

  /** `afterSent` runs once the last piece is on its way, while the server loads it (the
   *  writer prepares its next chunk then); what it throws fails the COPY's statement. */
  constructor(
    readonly pieces: Iterable<string>,
    afterSent?: () => void,
  ) {
    this.#afterSent = afterSent;
  }

  text(): string {
    let out = '';
    for (const piece of this.pieces) out += piece;
    return out;
  }

  /** Called by the driver when all the data has been handed over. */
  sent(): void {
    const work = this.#afterSent;
    this.#afterSent = undefined;
    try {
      work?.();
    } catch (error) {
      this.#failure = { error };
    }
  }

  /** Throws what afterSent threw, if anything. */
  settle(): void {
    this.sent();
    if (this.#failure) throw this.#failure.error;
  }
}

/** True when a statement and its parameters follow the COPY convention above. */
export function isCopyFromStdin(text: string, parameters: readonly unknown[]): parameters is readonly [CopyData] {
  return parameters.length === 1 && parameters[0] instanceof CopyData && COPY_FROM_STDIN.test(text);
}

/** The statement, for PGlite, that reads the data from the query's blob instead. */
export function copyFromBlobStatement(text: string): string {
  return text.replace(/\s+from\s+stdin\s*$/i, ` from '/dev/blob'`);
}

/** Loads `data` (COPY text lines, each ending with a newline) into `table`. */
export async function copyInto(trx: Transaction<Database>, table: string, columns: readonly string[], data: CopyData): Promise<void> {
  await trx.executeQuery(CompiledQuery.raw(`copy ${table} (${columns.join(', ')}) from stdin`, [data]));
  data.settle();
}

// --- COPY text format (https://www.postgresql.org/docs/15/sql-copy.html, "Text Format") ---

const NULL_FIELD = '\\N';

/** Backslash, tab, newline and carriage return are escaped; nothing else needs to be. */
function escapeText(text: string): string {
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'))
    : text;
}

/** An array literal of text elements ({"a","b"}), every element quoted. */
function arrayLiteral(items: readonly unknown[]): string {
  return `{${items.map((item) => (item === null ? 'NULL' : `"${String(item).replace(/["\\]/g, '\\$&')}"`)).join(',')}}`;
}

/** One field of a normalised column value (normaliseColumnValue) in COPY text form. */
export function copyField(type: ColumnType, value: unknown): string {
  if (value === null || value === undefined) return NULL_FIELD;
  switch (type) {
    case 'boolean':
      return value ? 't' : 'f';
    case 'text[]':
      return escapeText(arrayLiteral(value as unknown[]));
    case 'integer':
    case 'bigint':
      return String(value);
    default:
      return escapeText(String(value));
  }
}

/** A jsonb field from its JSON text. */
export function copyJsonField(json: string | null): string {
  return json === null ? NULL_FIELD : escapeText(json);
}

/** A bytea field (hex form, its backslash escaped for COPY). */
export function copyByteaField(bytes: Buffer | null): string {
  return bytes === null ? NULL_FIELD : `\\\\x${bytes.toString('hex')}`;
}

// --- the convention on pg ---------------------------------------------------------
//
// Kysely's Postgres driver calls `client.query(text, parameters)` on the connection that
// holds the transaction; a COPY has to run on that very connection. pg's Client.query
// is extended once, for this process, to recognise the convention; every other call
// goes to pg unchanged.

const COPY_READY = Symbol.for('accesstrail.copy-from-stdin');

async function copyFromStdin(client: pg.Client, text: string, data: CopyData) {
  const stream = client.query(copyFrom(text));
  const source = Readable.from(data.pieces, { objectMode: false });
  // After the end of the data is written (CopyDone), while the server loads the last rows.
  source.once('end', () => setImmediate(() => data.sent()));
  await pipeline(source, stream);
  return { command: 'COPY', rowCount: stream.rowCount, rows: [], fields: [] };
}

const prototype = pg.Client.prototype as unknown as Record<symbol | string, unknown>;
if (!prototype[COPY_READY]) {
  const query = prototype['query'] as (this: pg.Client, ...args: unknown[]) => unknown;
  prototype['query'] = function (this: pg.Client, ...args: unknown[]) {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && isCopyFromStdin(text, values)) return copyFromStdin(this, text, values[0]);
    return query.apply(this, args);
  };
  prototype[COPY_READY] = true;
}
