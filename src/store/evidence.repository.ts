// The bulk writer for evidence. One SQL statement per batch of rows (arrays unnested
// server-side), idempotent: rows whose content did not change are left alone and make
// no batch at all; changed rows keep their previous version in evidence_revision.
// Every batch that wrote something is appended to the hash chain (chain.ts) in the same
// transaction.
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { appendBatch, lockChainAndReserveBatchId, storedBatchContent } from './chain.js';
import { ensureMonthlyPartitions } from './partitions.js';
import { rowHashSql, tombstoneHashSql } from './record-hash.js';
import type { Database } from './schema.js';
import {
  eventTables,
  stateTables,
  type ColumnSpec,
  type EventRecord,
  type EventTableName,
  type EventTableSpec,
  type StateRecord,
  type StateTableName,
  type StateTableSpec,
} from './tables.js';

/** Rows per statement: large enough to amortise round trips, small enough to keep
 *  parameter arrays and the per-batch hash aggregate cheap. */
export const DEFAULT_BATCH_ROWS = 5_000;

export interface WriteOutcome {
  inserted: number;
  revised: number;
  unchanged: number;
  batchIds: number[];
}

const emptyOutcome = (): WriteOutcome => ({ inserted: 0, revised: 0, unchanged: 0, batchIds: [] });

function addOutcome(total: WriteOutcome, part: WriteOutcome): void {
  total.inserted += part.inserted;
  total.revised += part.revised;
  total.unchanged += part.unchanged;
  total.batchIds.push(...part.batchIds);
}

// --- parameter encoding -------------------------------------------------------------

/** Arrays travel as text[] of JSON (unnest cannot carry ragged arrays of arrays);
 *  times as ISO strings, so both drivers serialise them the same way. */
function encodeValue(column: ColumnSpec, value: unknown): unknown {
  if (value === undefined || value === null) return null;
  switch (column.type) {
    case 'text[]':
      return JSON.stringify(value);
    case 'timestamptz':
      return value instanceof Date ? value.toISOString() : String(value);
    case 'text':
      return String(value);
    default:
      return value;
  }
}

function paramType(column: ColumnSpec): string {
  return column.type === 'text[]' ? 'text[]' : `${column.type}[]`;
}

function decodeSql(column: ColumnSpec, alias: string): string {
  return column.type === 'text[]'
    ? `case when ${alias}.${column.name} is null then null else array(select jsonb_array_elements_text(${alias}.${column.name}::jsonb)) end`
    : `${alias}.${column.name}`;
}

/** Keeps the last occurrence of each key: one statement cannot touch a row twice. */
function dedupe<T>(records: readonly T[], key: (record: T) => string): T[] {
  const byKey = new Map<string, T>();
  for (const record of records) byKey.set(key(record), record);
  return byKey.size === records.length ? [...records] : [...byKey.values()];
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// --- SQL ---------------------------------------------------------------------------

const eventSqlCache = new Map<string, string>();

function eventUpsertSql(spec: EventTableSpec): string {
  const cached = eventSqlCache.get(spec.name);
  if (cached) return cached;
  const cols = spec.columns;
  const params = ['upstream_id text[]', 'occurred_at timestamptz[]', ...cols.map((c) => `${c.name} ${paramType(c)}`), 'raw text[]'];
  const unnestArgs = params.map((p, i) => `$${i + 3}::${p.split(' ')[1]}`).join(', ');
  const names = ['upstream_id', 'occurred_at', ...cols.map((c) => c.name), 'raw'];
  const conflictKey = spec.partitioned ? '(source_id, occurred_at, upstream_id)' : '(source_id, upstream_id)';
  const matchKey = spec.partitioned ? 't.upstream_id = h.upstream_id and t.occurred_at = h.occurred_at' : 't.upstream_id = h.upstream_id';
  const updates = [
    ...(spec.partitioned ? [] : ['occurred_at']),
    ...cols.map((c) => c.name),
    'raw',
    'batch_id',
    'record_sha256',
  ].map((name) => `${name} = excluded.${name}`);
  const text = `
with input as (
  select * from unnest(${unnestArgs}) as s(${names.join(', ')})
), incoming as (
  select s.upstream_id, s.occurred_at, ${cols.map((c) => `${decodeSql(c, 's')} as ${c.name}`).join(', ')}${cols.length ? ',' : ''} s.raw::jsonb as raw
  from input s
), hashed as (
  select i.*, ${rowHashSql(spec, 'i')} as record_sha256 from incoming i
), previous as (
  select t.* from ${spec.name} t join hashed h on t.source_id = $1 and ${matchKey}
  where t.record_sha256 <> h.record_sha256
), archived as (
  insert into evidence_revision (target_table, source_id, upstream_key, batch_id, record_sha256, row_data)
  select '${spec.name}', p.source_id, p.upstream_id, p.batch_id, p.record_sha256, to_jsonb(p) from previous p
  returning 1
), written as (
  insert into ${spec.name} as t (source_id, upstream_id, occurred_at, ${cols.map((c) => c.name).join(', ')}${cols.length ? ',' : ''} raw, batch_id, record_sha256)
  select $1, h.upstream_id, h.occurred_at, ${cols.map((c) => `h.${c.name}`).join(', ')}${cols.length ? ',' : ''} h.raw, $2, h.record_sha256 from hashed h
  on conflict ${conflictKey} do update set ${updates.join(', ')}, revision = t.revision + 1, last_collected_at = now()
  where t.record_sha256 <> excluded.record_sha256
  returning 1
)
-- Rows of "previous" are exactly the existing rows this statement updates.
select ((select count(*) from written) - (select count(*) from archived))::int as inserted,
       (select count(*) from archived)::int as revised`;
  eventSqlCache.set(spec.name, text);
  return text;
}

const stateSqlCache = new Map<string, string>();

function stateInsertSql(spec: StateTableSpec): string {
  const cached = stateSqlCache.get(spec.name);
  if (cached) return cached;
  const cols = spec.columns;
  const params = ['upstream_id text[]', ...cols.map((c) => `${c.name} ${paramType(c)}`), 'raw text[]'];
  const unnestArgs = params.map((p, i) => `$${i + 5}::${p.split(' ')[1]}`).join(', ');
  const names = ['upstream_id', ...cols.map((c) => c.name), 'raw'];
  // $1 source, $2 batch, $3 snapshot, $4 observed_at
  const text = `
with input as (
  select * from unnest(${unnestArgs}) as s(${names.join(', ')})
), incoming as (
  select s.upstream_id, true as present, ${cols.map((c) => `${decodeSql(c, 's')} as ${c.name}`).join(', ')}, s.raw::jsonb as raw
  from input s
), hashed as (
  select i.*, ${rowHashSql(spec, 'i')} as record_sha256 from incoming i
), seen as (
  insert into snapshot_seen (snapshot_id, upstream_id) select $3, h.upstream_id from hashed h
  on conflict do nothing returning 1
), written as (
  insert into ${spec.name} (source_id, upstream_id, observed_at, present, snapshot_id, ${cols.map((c) => c.name).join(', ')}, raw, batch_id, record_sha256)
  select $1, h.upstream_id, $4::timestamptz, true, $3, ${cols.map((c) => `h.${c.name}`).join(', ')}, h.raw, $2, h.record_sha256
  from hashed h
  left join lateral (
    select v.record_sha256 from ${spec.name} v
    where v.source_id = $1 and v.upstream_id = h.upstream_id and v.observed_at <= $4::timestamptz
    order by v.observed_at desc limit 1
  ) latest on true
  where latest.record_sha256 is distinct from h.record_sha256
  on conflict do nothing
  returning 1
)
select (select count(*) from written)::int as inserted, (select count(*) from seen)::int as seen`;
  stateSqlCache.set(spec.name, text);
  return text;
}

function tombstoneSql(spec: StateTableSpec): string {
  return `
with latest as (
  select distinct on (v.upstream_id) v.upstream_id, v.present
  from ${spec.name} v where v.source_id = $1 and v.observed_at <= $4::timestamptz
  order by v.upstream_id, v.observed_at desc
)
insert into ${spec.name} (source_id, upstream_id, observed_at, present, snapshot_id, batch_id, record_sha256)
select $1, l.upstream_id, $4::timestamptz, false, $3, $2, ${tombstoneHashSql(spec)}
from latest l
where l.present and not exists (select 1 from snapshot_seen s where s.snapshot_id = $3 and s.upstream_id = l.upstream_id)
on conflict do nothing`;
}

// --- the repository ----------------------------------------------------------------

export interface EvidenceRepository {
  /** Upserts events; returns what changed. `records` may be any length. */
  writeEvents(table: EventTableName, sourceId: string, records: readonly EventRecord[], options?: { runId?: number | null; batchRows?: number }): Promise<WriteOutcome>;
  /** Starts a snapshot of a state table as observed at `observedAt`. */
  beginSnapshot(table: StateTableName, sourceId: string, observedAt: Date, options?: { runId?: number | null }): Promise<SnapshotWriter>;
}

export interface SnapshotWriter {
  readonly snapshotId: number;
  write(records: readonly StateRecord[]): Promise<WriteOutcome>;
  /** complete = every object was listed: objects not seen get a tombstone version. */
  finish(options: { complete: boolean }): Promise<WriteOutcome & { removed: number }>;
}

export function createEvidenceRepository(db: Kysely<Database>): EvidenceRepository {
  const knownPartitions = new Set<string>();

  async function writeEventChunk(spec: EventTableSpec, sourceId: string, rows: readonly EventRecord[], runId: number | null): Promise<WriteOutcome> {
    const params: unknown[][] = [[], [], ...spec.columns.map(() => []), []];
    for (const row of rows) {
      params[0]!.push(row.upstream_id);
      params[1]!.push(row.occurred_at.toISOString());
      spec.columns.forEach((column, i) => params[i + 2]!.push(encodeValue(column, row[column.name])));
      params[params.length - 1]!.push(JSON.stringify(row.raw));
    }
    return db.transaction().execute(async (trx) => {
      const batchId = await lockChainAndReserveBatchId(trx);
      const { rows: result } = await runRaw<{ inserted: number; revised: number }>(trx, eventUpsertSql(spec), [sourceId, batchId, ...params]);
      const written = result[0] ?? { inserted: 0, revised: 0 };
      const outcome: WriteOutcome = { inserted: written.inserted, revised: written.revised, unchanged: rows.length - written.inserted - written.revised, batchIds: [] };
      if (written.inserted + written.revised > 0) {
        await finishBatch(trx, spec, sourceId, batchId, runId);
        outcome.batchIds.push(batchId);
      }
      return outcome;
    });
  }

  async function finishBatch(trx: Transaction<Database>, spec: EventTableSpec | StateTableSpec, sourceId: string, batchId: number, runId: number | null): Promise<void> {
    const content = await storedBatchContent(trx, spec, batchId);
    await appendBatch(trx, { id: batchId, sourceId, targetTable: spec.name, rowCount: content.rowCount, contentSha256: content.contentSha256, runId });
  }

  return {
    async writeEvents(table, sourceId, records, options = {}) {
      const spec: EventTableSpec = eventTables[table];
      const total = emptyOutcome();
      const unique = dedupe(records, (r) => (spec.partitioned ? `${r.upstream_id}@${r.occurred_at.getTime()}` : r.upstream_id));
      total.unchanged += records.length - unique.length;
      if (spec.partitioned) await ensureMonthlyPartitions(db, spec.name, unique.map((r) => r.occurred_at), knownPartitions);
      for (const chunk of chunks(unique, options.batchRows ?? DEFAULT_BATCH_ROWS)) {
        addOutcome(total, await writeEventChunk(spec, sourceId, chunk, options.runId ?? null));
      }
      return total;
    },

    async beginSnapshot(table, sourceId, observedAt, options = {}) {
      const spec: StateTableSpec = stateTables[table];
      const runId = options.runId ?? null;
      const snapshot = await db
        .insertInto('snapshot')
        .values({ source_id: sourceId, stream: table, observed_at: observedAt, run_id: runId })
        .returning('id')
        .executeTakeFirstOrThrow();
      const snapshotId = Number(snapshot.id);
      let objectCount = 0;

      const writer: SnapshotWriter = {
        snapshotId,
        async write(records) {
          const total = emptyOutcome();
          const unique = dedupe(records, (r) => r.upstream_id);
          total.unchanged += records.length - unique.length;
          for (const chunk of chunks(unique, DEFAULT_BATCH_ROWS)) {
            const params: unknown[][] = [[], ...spec.columns.map(() => []), []];
            for (const row of chunk) {
              params[0]!.push(row.upstream_id);
              spec.columns.forEach((column, i) => params[i + 1]!.push(encodeValue(column, row[column.name])));
              params[params.length - 1]!.push(JSON.stringify(row.raw));
            }
            const part = await db.transaction().execute(async (trx) => {
              const batchId = await lockChainAndReserveBatchId(trx);
              const { rows } = await runRaw<{ inserted: number; seen: number }>(trx, stateInsertSql(spec), [sourceId, batchId, snapshotId, observedAt.toISOString(), ...params]);
              const inserted = rows[0]?.inserted ?? 0;
              objectCount += rows[0]?.seen ?? 0;
              const outcome: WriteOutcome = { inserted, revised: 0, unchanged: chunk.length - inserted, batchIds: [] };
              if (inserted > 0) {
                await finishBatch(trx, spec, sourceId, batchId, runId);
                outcome.batchIds.push(batchId);
              }
              return outcome;
            });
            addOutcome(total, part);
          }
          return total;
        },

        async finish({ complete }) {
          return db.transaction().execute(async (trx) => {
            let removed = 0;
            const outcome = emptyOutcome();
            if (complete) {
              const batchId = await lockChainAndReserveBatchId(trx);
              const result = await runRaw(trx, tombstoneSql(spec), [sourceId, batchId, snapshotId, observedAt.toISOString()]);
              removed = Number(result.numAffectedRows ?? 0);
              if (removed > 0) {
                await finishBatch(trx, spec, sourceId, batchId, runId);
                outcome.batchIds.push(batchId);
              }
            }
            await trx.deleteFrom('snapshot_seen').where('snapshot_id', '=', snapshotId).execute();
            await trx.updateTable('snapshot').set({ complete, object_count: objectCount }).where('id', '=', snapshotId).execute();
            return { ...outcome, removed };
          });
        },
      };
      return writer;
    },
  };
}

async function runRaw<R>(trx: Transaction<Database>, text: string, parameters: readonly unknown[]): Promise<{ rows: R[]; numAffectedRows?: bigint }> {
  const result = await trx.executeQuery<R>(CompiledQuery.raw(text, [...parameters]));
  return { rows: result.rows, ...(result.numAffectedRows !== undefined ? { numAffectedRows: result.numAffectedRows } : {}) };
}
