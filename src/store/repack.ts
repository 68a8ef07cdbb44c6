// Rewrites the rows stored before migration 0012 in the packed form the writer uses
// since (record-codec.ts): `raw` (jsonb) and the packed columns become one `raw_packed`.
// 0012 left them as they were, because Postgres has no deflate and rewriting a large
// store inside a migration would hold the migration lock for as long as it takes; a
// store that collected before 0012 keeps ~2.4 KB per sign-in for those rows instead of
// ~1 KB until they are repacked (docs/scale.md, "Storage").
//
// Nothing about the evidence changes: a row is rewritten only when its stored hash is
// the hash of the row as it is, and the hash of the packed row decoded back is that same
// hash (checked per row, before writing); the update also requires the hash to be
// unchanged since it was read, so a row revised meanwhile by a collection is left to
// the writer. The revision trigger (0004) archives nothing, since the hash does not
// change, and the chain (`verify --store`) reads either form. A row whose hash does not
// match is left as it is and counted: `verify --store` names it.
//
// Batches of rows in primary-key order, each read, packed in Node and written back in a
// transaction of its own: memory stays flat, a stop loses at most the batch in flight,
// and a second run carries on with what is left. Each table is vacuumed afterwards so
// the space the old rows took is reused by the rows to come (VACUUM FULL, which returns
// it to the file system, locks the table: left to the operator).
import { type Kysely, sql } from 'kysely';

import { storedRowHash } from './chain.js';
import { packRecord } from './record-codec.js';
import { normaliseColumnValue } from './record-hash.js';
import type { Database } from './schema.js';
import { eventTables, type EventTableSpec } from './tables.js';

export interface RepackTableOutcome {
  table: string;
  /** Rows found in the old form (raw jsonb). */
  found: number;
  /** Rows rewritten in the packed form. */
  repacked: number;
  /** Rows left as they were: their stored hash is not the hash of the row (verify --store names them). */
  mismatched: number;
  /** Rows changed by someone else between the read and the write (a collection revising them). */
  skipped: number;
  /** The repacked rows' own bytes (pg_column_size of the row, TOAST included), before and after. */
  rowBytesBefore: number;
  rowBytesAfter: number;
  /** The table's files with indexes and TOAST, before and after the vacuum (which makes
   *  the space reusable but does not shrink the files: VACUUM FULL does). */
  bytesBefore: number;
  bytesAfter: number;
}

export interface RepackOptions {
  dryRun?: boolean;
  /** Rows per transaction. */
  batchSize?: number;
  /** Skip the VACUUM after each table. */
  vacuum?: boolean;
  onProgress?: (table: string, done: number, total: number) => void;
}

type Row = Record<string, unknown>;

/** The event tables whose writer packs their records (tables.ts, `packed`). */
export function packedTables(): EventTableSpec[] {
  return Object.values(eventTables as Record<string, EventTableSpec>).filter((spec) => spec.packed);
}

function keyColumns(spec: EventTableSpec): string[] {
  // The primary keys (0001, 0008): partitioned tables carry occurred_at in theirs.
  return spec.partitioned ? ['source_id', 'occurred_at', 'upstream_id'] : ['source_id', 'upstream_id'];
}

async function tableBytes(db: Kysely<Database>, table: string): Promise<number> {
  // A partitioned table's size is its partitions'.
  const { rows } = await sql<{ bytes: string | number | null }>`
    select coalesce(sum(pg_total_relation_size(c.oid)), 0) as bytes
    from pg_class c
    where c.oid = ${table}::regclass
       or c.oid in (select inhrelid from pg_inherits where inhparent = ${table}::regclass)`.execute(db);
  return Number(rows[0]?.bytes ?? 0);
}

/** The packed form of an old row, or why it is left as it is (its hash would not hold). */
export function repackedRow(spec: EventTableSpec, stored: Row): { packed: Buffer } | { mismatch: string } {
  const packedSpec = spec.packed!;
  const expected = String(stored['record_sha256']);
  if (storedRowHash(spec, stored).hash !== expected) return { mismatch: 'the stored hash is not the hash of the row as stored' };
  const columns: Record<string, unknown> = {};
  for (const name of packedSpec.columns) {
    const column = spec.columns.find((candidate) => candidate.name === name)!;
    columns[name] = normaliseColumnValue(column, stored[name]);
  }
  const packed = packRecord(packedSpec.format, stored['raw'], columns);
  const rewritten: Row = { ...stored, raw: null, raw_packed: packed };
  for (const name of packedSpec.columns) rewritten[name] = null;
  if (storedRowHash(spec, rewritten).hash !== expected) return { mismatch: 'the packed row would not have the same hash' };
  return { packed };
}

async function repackTable(db: Kysely<Database>, spec: EventTableSpec, options: RepackOptions): Promise<RepackTableOutcome> {
  const table = spec.name;
  const bytesBefore = await tableBytes(db, table);
  const { rows: counted } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where raw is not null`.execute(db);
  const found = counted[0]?.n ?? 0;
  const outcome: RepackTableOutcome = {
    table,
    found,
    repacked: 0,
    mismatched: 0,
    skipped: 0,
    rowBytesBefore: 0,
    rowBytesAfter: 0,
    bytesBefore,
    bytesAfter: bytesBefore,
  };
  if (options.dryRun || found === 0) return outcome;

  const keys = keyColumns(spec);
  const keyList = sql.join(keys.map((name) => sql.ref(name)));
  const batchSize = options.batchSize ?? 2_000;
  let after: unknown[] | undefined;
  let seen = 0;
  for (;;) {
    const { rows } = await sql<Row>`
      select t.*, pg_column_size(t.*) as repack_row_bytes from ${sql.table(table)} t
      where raw is not null ${after ? sql`and (${keyList}) > (${sql.join(after.map((value) => sql`${value}`))})` : sql``}
      order by ${keyList}
      limit ${batchSize}`.execute(db);
    if (rows.length === 0) break;
    const last = rows[rows.length - 1]!;
    after = keys.map((name) => last[name]);
    seen += rows.length;

    const written: { key: unknown[]; hash: string; packed: string; bytes: number }[] = [];
    for (const { repack_row_bytes: bytes, ...row } of rows) {
      const result = repackedRow(spec, row);
      if ('mismatch' in result) outcome.mismatched++;
      else
        written.push({
          key: keys.map((name) => row[name]),
          hash: String(row['record_sha256']),
          packed: result.packed.toString('hex'),
          bytes: Number(bytes),
        });
    }
    if (written.length > 0) {
      const columnArrays = keys.map((name, i) => {
        const values = written.map((entry) => entry.key[i]);
        return name === 'occurred_at' ? sql`${values}::timestamptz[]` : sql`${values.map(String)}::text[]`;
      });
      const nulls = spec.packed!.columns.map((name) => sql`${sql.ref(name)} = null`);
      const matchKeys = keys.map((name) => sql`t.${sql.ref(name)} = v.${sql.ref(name)}`);
      const result = await db.transaction().execute((trx) =>
        sql<{ upstream_id: string; row_bytes: number }>`
          update ${sql.table(table)} as t
          set raw = null, raw_packed = decode(v.packed, 'hex'), ${sql.join(nulls)}
          from unnest(${sql.join(columnArrays)}, ${written.map((entry) => entry.hash)}::text[], ${written.map((entry) => entry.packed)}::text[])
            as v(${keyList}, record_sha256, packed)
          where ${sql.join(matchKeys, sql` and `)} and t.raw is not null and t.record_sha256 = v.record_sha256
          returning ${sql.join(keys.map((name) => sql`t.${sql.ref(name)}`))}, pg_column_size(t.*) as row_bytes`.execute(trx),
      );
      const keyOf = (values: unknown[]) => JSON.stringify(values.map((value) => (value instanceof Date ? value.getTime() : String(value))));
      const bytesBefore = new Map(written.map((entry) => [keyOf(entry.key), entry.bytes]));
      for (const updated of result.rows as Row[]) {
        outcome.rowBytesBefore += bytesBefore.get(keyOf(keys.map((name) => updated[name]))) ?? 0;
        outcome.rowBytesAfter += Number(updated['row_bytes']);
      }
      outcome.repacked += result.rows.length;
      outcome.skipped += written.length - result.rows.length;
    }
    options.onProgress?.(table, seen, found);
  }
  if (options.vacuum !== false) await sql`vacuum (analyze) ${sql.table(table)}`.execute(db);
  outcome.bytesAfter = await tableBytes(db, table);
  return outcome;
}

/** Repacks every packed event table's rows stored before 0012 (see the top of this file). */
export async function repackRecords(db: Kysely<Database>, options: RepackOptions = {}): Promise<RepackTableOutcome[]> {
  const outcomes: RepackTableOutcome[] = [];
  for (const spec of packedTables()) outcomes.push(await repackTable(db, spec, options));
  return outcomes;
}
