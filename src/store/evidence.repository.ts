// The bulk writer for evidence, idempotent: rows whose content did not change are left
// alone and make no batch at all; changed rows keep their previous version in
// evidence_revision. Events are loaded by COPY (a probe for the keys that exist, then
// the new rows straight into the table and the changed ones through a staging table);
// a snapshot's versions by one statement per batch. Every batch that wrote something
// is appended to the hash chain (chain.ts) in the same transaction. The big event
// tables get their record packed (record-codec.ts, migration 0012).
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';

import { appendBatch, lockChainAndReserveBatchId } from './chain.js';
import { createCollectionRepository } from './collection.repository.js';
import { copyByteaField, CopyData, copyField, copyInto, copyJsonField } from './copy.js';
import { ensureMonthlyPartitions, monthsAhead } from './partitions.js';
import { packRecord } from './record-codec.js';
import { contentHash, normaliseColumnValue, recordHash, stateKey, tombstoneHash } from './record-hash.js';
import type { Database } from './schema.js';
import {
  type ColumnSpec,
  type EventRecord,
  type EventTableName,
  eventTables,
  type EventTableSpec,
  type EvidenceTableSpec,
  type StateRecord,
  type StateTableName,
  stateTables,
  type StateTableSpec,
  storedColumns,
} from './tables.js';

/** Rows per statement: large enough to amortise round trips and planning, small
 *  enough to keep parameter arrays modest (bench/store-ingest). */
export const DEFAULT_BATCH_ROWS = 5_000;

export interface WriteOutcome {
  inserted: number;
  revised: number;
  unchanged: number;
  /** Records Postgres cannot store as they are (see unstorableReason), written to the
   *  quarantine with the reason instead. */
  quarantined: number;
  batchIds: number[];
}

const emptyOutcome = (): WriteOutcome => ({ inserted: 0, revised: 0, unchanged: 0, quarantined: 0, batchIds: [] });

function addOutcome(total: WriteOutcome, part: WriteOutcome): void {
  total.inserted += part.inserted;
  total.revised += part.revised;
  total.unchanged += part.unchanged;
  total.quarantined += part.quarantined;
  total.batchIds.push(...part.batchIds);
}

// --- text Postgres cannot store ----------------------------------------------------------
//
// Postgres refuses U+0000 in text and jsonb, and jsonb refuses a lone UTF-16 surrogate
// (what invalid UTF-8 or a cut multi-byte character often becomes upstream). One such
// value would fail its whole batch, and with it the run. Verbatim evidence cannot be
// "repaired" either, so such a record goes to the quarantine with the reason, and the
// rest of the batch is written. The check runs here, in the one writer, so every
// collector and importer gets it.

const NUL = '\u0000';
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textProblem(value: unknown, where: string, depth = 0): string | undefined {
  if (typeof value === 'string') {
    if (value.includes(NUL)) return `${where} contains the NUL character (U+0000), which Postgres cannot store`;
    if (LONE_SURROGATE.test(value))
      return `${where} contains a lone UTF-16 surrogate (invalid Unicode text), which Postgres jsonb cannot store`;
    return undefined;
  }
  if (value === null || typeof value !== 'object' || depth > 200 || value instanceof Date) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = textProblem(value[i], `${where}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const keyProblem = textProblem(key, `a field name in ${where}`, depth + 1);
    if (keyProblem) return keyProblem;
    const problem = textProblem(child, `${where}.${key}`, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

// JSON.stringify writes U+0000 as the escape \u0000 and a lone surrogate as its \udxxx
// escape (well-formed JSON.stringify, ES2019), and a surrogate pair as itself: in its
// output, an escape of either that is not itself an escaped backslash means a problem.
const PROBLEM_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;
const MAYBE_PROBLEM = /[\u0000\ud800-\udfff]/;

// The record's JSON text, made once per record: for the check below, and for the packed
// form or the jsonb field of its row (record-codec.ts, copyRows).
const rawJsonOf = new WeakMap<object, string>();

function rawJson(row: EventRecord | StateRecord): string {
  let json = rawJsonOf.get(row);
  if (json === undefined) {
    json = JSON.stringify(row.raw ?? null);
    rawJsonOf.set(row, json);
  }
  return json;
}

/** Quick test that the record can be stored (one scan of its JSON text); only a
 *  record that fails it is walked for the reason. */
function maybeUnstorable(row: EventRecord | StateRecord): boolean {
  if (PROBLEM_ESCAPE.test(rawJson(row))) return true;
  for (const [key, value] of Object.entries(row)) {
    if (key === 'raw') continue;
    if (
      typeof value === 'string'
        ? MAYBE_PROBLEM.test(value)
        : Array.isArray(value) && value.some((v) => typeof v === 'string' && MAYBE_PROBLEM.test(v))
    )
      return true;
  }
  return false;
}

/** Why Postgres cannot store this record as it is, or undefined when it can. */
export function unstorableReason(row: EventRecord | StateRecord): string | undefined {
  if (!maybeUnstorable(row)) return undefined;
  return (
    textProblem(row.upstream_id, 'upstream_id') ??
    textProblem(row.raw, 'raw') ??
    textProblem(Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'raw' && k !== 'upstream_id')), 'column')
  );
}

/** Splits off the records Postgres cannot store, quarantining each with its reason. */
async function setAsideUnstorable<R extends EventRecord | StateRecord>(
  db: Kysely<Database>,
  table: string,
  sourceId: string,
  records: readonly R[],
  options: { runId?: number | null; stream?: string },
): Promise<{ storable: R[]; quarantined: number }> {
  const storable: R[] = [];
  let quarantined = 0;
  for (const record of records) {
    const reason = unstorableReason(record);
    if (!reason) {
      storable.push(record);
      continue;
    }
    quarantined++;
    // The id itself may hold the character: keep it as JSON escapes (plain ASCII).
    const upstreamId =
      typeof record.upstream_id === 'string' && !textProblem(record.upstream_id, '')
        ? record.upstream_id
        : JSON.stringify(String(record.upstream_id)).slice(1, -1);
    await createCollectionRepository(db).quarantine({
      sourceId,
      stream: options.stream ?? table,
      upstreamId,
      reason: `cannot be stored as is: ${reason}`,
      payload: record.raw ?? null,
      runId: options.runId ?? null,
    });
  }
  return { storable, quarantined };
}

// --- rows --------------------------------------------------------------------------

/** A row's normalised column values (every column of the spec, packed or not), its lead
 *  value (occurred_at of an event, `true` for a present state version) and its hash. */
function normalised(spec: EvidenceTableSpec, row: EventRecord | StateRecord): { lead: unknown; values: ColumnValue[]; hash: string } {
  const values = spec.columns.map((column) => normaliseColumnValue(column, row[column.name]));
  const lead =
    spec.kind === 'event' ? normaliseColumnValue({ name: 'occurred_at', type: 'timestamptz' }, (row as EventRecord).occurred_at) : true;
  return { lead, values, hash: recordHash(lead, values, row.raw) };
}

type ColumnValue = ReturnType<typeof normaliseColumnValue>;

// Events travel by COPY (copy.ts), state versions as one jsonb parameter (below).

interface PreparedEvent {
  record: EventRecord;
  upstreamId: string;
  occurredAt: string;
  values: ColumnValue[];
  hash: string;
}

/** Columns of an event table the COPY lines fill, after source_id and batch_id. */
function eventCopyColumns(spec: EventTableSpec): string[] {
  return [
    'upstream_id',
    'occurred_at',
    ...storedColumns(spec).map((column) => column.name),
    spec.packed ? 'raw_packed' : 'raw',
    'record_sha256',
  ];
}

/** Normalises and hashes a chunk (what the probe needs); packing waits for the COPY,
 *  and is never done for the rows found unchanged. */
function prepareEvents(spec: EventTableSpec, rows: readonly EventRecord[]): PreparedEvent[] {
  return rows.map((record) => {
    const { lead, values, hash } = normalised(spec, record);
    return { record, upstreamId: record.upstream_id, occurredAt: lead as string, values, hash };
  });
}

/** Rows per piece of COPY data: the server loads one piece while Node packs the next. */
const COPY_PIECE_ROWS = 250;

/** The COPY data of prepared rows, built piece by piece as it is sent. */
function copyRows(
  spec: EventTableSpec,
  sourceId: string,
  batchId: number,
  rows: readonly PreparedEvent[],
  afterSent?: () => void,
): CopyData {
  const stored = storedColumns(spec);
  const storedIndex = stored.map((column) => spec.columns.indexOf(column));
  const packedIndex = (spec.packed?.columns ?? []).map((name) => spec.columns.findIndex((column) => column.name === name));
  const prefix = `${copyField('text', sourceId)}\t${batchId}\t`;
  const line = (row: PreparedEvent): string => {
    let out = `${prefix}${copyField('text', row.upstreamId)}\t${row.occurredAt}`;
    for (let k = 0; k < stored.length; k++) out += `\t${copyField(stored[k]!.type, row.values[storedIndex[k]!])}`;
    if (spec.packed) {
      const packed: Record<string, unknown> = {};
      for (const i of packedIndex) packed[spec.columns[i]!.name] = row.values[i];
      out += `\t${copyByteaField(packRecord(spec.packed.format, row.record.raw, packed, rawJson(row.record)))}`;
    } else out += `\t${copyJsonField(rawJson(row.record))}`;
    return `${out}\t${row.hash}\n`;
  };
  return new CopyData(
    (function* () {
      for (let i = 0; i < rows.length; i += COPY_PIECE_ROWS) {
        let piece = '';
        for (let k = i; k < Math.min(rows.length, i + COPY_PIECE_ROWS); k++) piece += line(rows[k]!);
        yield piece;
      }
    })(),
    afterSent,
  );
}

/** Event records as the writer stores them: the COPY columns and lines of a batch
 *  (bench/store-ingest loads the same rows with a plain COPY as its reference). */
export function storedEventRows(
  table: EventTableName,
  sourceId: string,
  batchId: number,
  records: readonly EventRecord[],
): { columns: string[]; text: string } {
  const spec: EventTableSpec = eventTables[table];
  return {
    columns: ['source_id', 'batch_id', ...eventCopyColumns(spec)],
    text: copyRows(spec, sourceId, batchId, prepareEvents(spec, records)).text(),
  };
}

// A snapshot's batch travels as ONE jsonb parameter (an array of row objects) unpacked
// server-side (unpackedRows), parsed once: its insert compares each object with its
// latest version, which a COPY could not do by itself.

interface PreparedRows {
  /** The batch as JSON text: [{ upstream_id, <columns>, raw, record_sha256 }]. */
  json: string;
  /** key → record hash, for the batch content hash of what gets written. */
  hashes: Map<string, string>;
}

function prepareStateRows(spec: StateTableSpec, rows: readonly StateRecord[]): PreparedRows {
  const hashes = new Map<string, string>();
  const out: Record<string, unknown>[] = [];
  for (const row of rows) {
    const { values, hash } = normalised(spec, row);
    const item: Record<string, unknown> = { upstream_id: row.upstream_id };
    spec.columns.forEach((column, i) => (item[column.name] = values[i]));
    item['raw'] = row.raw ?? null;
    item['record_sha256'] = hash;
    hashes.set(row.upstream_id, hash);
    out.push(item);
  }
  return { json: JSON.stringify(out), hashes };
}

/** The batch's rows, unpacked from the one jsonb parameter. Fields are read with ->/->>
 *  rather than jsonb_to_recordset, which re-parses each nested raw record from text. */
function unpackedRows(spec: StateTableSpec, parameter: string): string {
  const field = (name: string, type: ColumnSpec['type']): string => {
    switch (type) {
      case 'text':
        return `e.v->>'${name}' as ${name}`;
      case 'text[]':
        return `case when jsonb_typeof(e.v->'${name}') = 'array' then array(select jsonb_array_elements_text(e.v->'${name}')) end as ${name}`;
      default:
        return `(e.v->>'${name}')::${type} as ${name}`;
    }
  };
  const columns = [
    field('upstream_id', 'text'),
    ...spec.columns.map((column) => field(column.name, column.type)),
    `e.v->'raw' as raw`,
    field('record_sha256', 'text'),
  ];
  return `(select ${columns.join(', ')} from jsonb_array_elements(${parameter}::jsonb) as e(v))`;
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

const sqlCache = new Map<string, string>();

function cached(key: string, build: () => string): string {
  let text = sqlCache.get(key);
  if (!text) {
    text = build();
    sqlCache.set(key, text);
  }
  return text;
}

/** $1 source, $2 ids[, $3 times, $4 earliest, $5 latest]: the batch's rows that exist
 *  already, by their position in the batch (1-based), with their hash. The time bounds
 *  let the planner skip the partitions the batch does not touch. */
function eventProbeSql(spec: EventTableSpec): string {
  return cached(`probe:${spec.name}`, () =>
    spec.partitioned
      ? `
select k.i::int as i, t.record_sha256 from unnest($2::text[], $3::timestamptz[]) with ordinality as k(id, at, i)
join ${spec.name} t on t.source_id = $1 and t.occurred_at = k.at and t.upstream_id = k.id
where t.occurred_at >= $4::timestamptz and t.occurred_at <= $5::timestamptz`
      : `
select k.i::int as i, t.record_sha256 from unnest($2::text[]) with ordinality as k(id, i)
join ${spec.name} t on t.source_id = $1 and t.upstream_id = k.id`,
  );
}

/** The staging table of changed rows, one per transaction (dropped at commit). */
function eventStageSql(spec: EventTableSpec): string {
  return cached(`stage:${spec.name}`, () => `create temp table ${stageName(spec)} (like ${spec.name} including defaults) on commit drop`);
}

const stageName = (spec: EventTableSpec) => `evidence_stage_${spec.name}`;

/** Moves the staged rows (changed upstream) into the table. Every column is set,
 *  packed ones included (to NULL when the record is packed), so a row written before
 *  0012 takes the packed form; the table's revision trigger (0004) archives the earlier
 *  version, and `revision` counts up. */
function eventMergeSql(spec: EventTableSpec): string {
  return cached(`merge:${spec.name}`, () => {
    const copied = ['source_id', 'batch_id', ...eventCopyColumns(spec)];
    const conflictKey = spec.partitioned ? '(source_id, occurred_at, upstream_id)' : '(source_id, upstream_id)';
    const updates = [
      ...(spec.partitioned ? [] : ['occurred_at']),
      ...spec.columns.map((c) => c.name),
      'raw',
      ...(spec.packed ? ['raw_packed'] : []),
      'batch_id',
      'record_sha256',
    ].map((n) => `${n} = excluded.${n}`);
    return `
insert into ${spec.name} as t (${copied.join(', ')})
select ${copied.join(', ')} from ${stageName(spec)}
on conflict ${conflictKey} do update set ${updates.join(', ')}, revision = t.revision + 1, last_collected_at = now()
where t.record_sha256 <> excluded.record_sha256
returning t.upstream_id`;
  });
}

/** $1 source, $2 batch, $3 snapshot, $4 observed_at, $5 the rows as JSON. */
function stateInsertSql(spec: StateTableSpec): string {
  return cached(`state:${spec.name}`, () => {
    const colNames = spec.columns.map((c) => c.name);
    return `
with incoming as materialized (
  select * from ${unpackedRows(spec, '$5')} as s
), seen as (
  insert into snapshot_seen (snapshot_id, upstream_id) select $3, h.upstream_id from incoming h
  on conflict do nothing returning 1
), written as (
  insert into ${spec.name} (source_id, upstream_id, observed_at, present, snapshot_id, ${colNames.map((n) => `${n}, `).join('')}raw, batch_id, record_sha256)
  select $1, h.upstream_id, $4::timestamptz, true, $3, ${colNames.map((n) => `h.${n}, `).join('')}h.raw, $2, h.record_sha256
  from incoming h
  left join lateral (
    select v.record_sha256 from ${spec.name} v
    where v.source_id = $1 and v.upstream_id = h.upstream_id and v.observed_at <= $4::timestamptz
    order by v.observed_at desc limit 1
  ) latest on true
  where latest.record_sha256 is distinct from h.record_sha256
  on conflict do nothing
  returning upstream_id
)
select upstream_id, (select count(*)::int from seen) as seen from written
union all select null, (select count(*)::int from seen) where not exists (select 1 from written)`;
  });
}

/** $1 source, $2 batch, $3 snapshot, $4 observed_at, $5 tombstone hash. */
function tombstoneSql(spec: StateTableSpec): string {
  return cached(
    `tombstone:${spec.name}`,
    () => `
with latest as (
  select distinct on (v.upstream_id) v.upstream_id, v.present
  from ${spec.name} v where v.source_id = $1 and v.observed_at <= $4::timestamptz
  order by v.upstream_id, v.observed_at desc
)
insert into ${spec.name} (source_id, upstream_id, observed_at, present, snapshot_id, batch_id, record_sha256)
select $1, l.upstream_id, $4::timestamptz, false, $3, $2, $5
from latest l
where l.present and not exists (select 1 from snapshot_seen s where s.snapshot_id = $3 and s.upstream_id = l.upstream_id)
on conflict do nothing
returning upstream_id`,
  );
}

async function runRaw<R>(trx: Transaction<Database>, text: string, parameters: readonly unknown[]): Promise<R[]> {
  const result = await trx.executeQuery<R>(CompiledQuery.raw(text, [...parameters]));
  return result.rows;
}

// --- the repository ----------------------------------------------------------------

export interface EvidenceRepository {
  /** Upserts events; returns what changed. `records` may be any length. */
  /** `stream` names the quarantine entries of unstorable records (default: the table). */
  writeEvents(
    table: EventTableName,
    sourceId: string,
    records: readonly EventRecord[],
    options?: { runId?: number | null; batchRows?: number; stream?: string },
  ): Promise<WriteOutcome>;
  /** Starts a snapshot of a state table as observed at `observedAt`. */
  beginSnapshot(
    table: StateTableName,
    sourceId: string,
    observedAt: Date,
    options?: { runId?: number | null; stream?: string },
  ): Promise<SnapshotWriter>;
}

export interface SnapshotWriter {
  readonly snapshotId: number;
  write(records: readonly StateRecord[]): Promise<WriteOutcome>;
  /** complete = every object was listed: objects not seen get a tombstone version. */
  finish(options: { complete: boolean }): Promise<WriteOutcome & { removed: number }>;
}

/** Appends the batch to the chain when it wrote anything; its id, or none. */
async function chainWritten(
  trx: Transaction<Database>,
  spec: EvidenceTableSpec,
  sourceId: string,
  batchId: number,
  runId: number | null,
  entries: { key: string; hash: string }[],
): Promise<number[]> {
  if (entries.length === 0) return [];
  await appendBatch(trx, {
    id: batchId,
    sourceId,
    targetTable: spec.name,
    rowCount: entries.length,
    contentSha256: contentHash(entries),
    runId,
  });
  return [batchId];
}

/** Writes one chunk of events in its own transaction, under the chain lock:
 *  1. one probe finds which of the chunk's keys the table holds already, and their hash;
 *  2. the new rows are COPYed straight into the table (the chain lock serialises every
 *     writer of evidence, so no other one can insert the same key in between; one that
 *     went around the lock would make the COPY fail on the primary key, and the batch
 *     roll back whole);
 *  3. the rows whose content changed are COPYed into a staging table and merged by one
 *     insert … on conflict do update (the revision trigger archives what they replace);
 *     unchanged rows are left alone.
 *  `whileWaiting` runs while the database loads the rows, so Node prepares the next
 *  chunk (hashes, packs, serialises) at the same time. */
async function writeEventChunk(
  db: Kysely<Database>,
  spec: EventTableSpec,
  sourceId: string,
  rows: readonly PreparedEvent[],
  runId: number | null,
  whileWaiting: () => void,
): Promise<WriteOutcome> {
  return db.transaction().execute(async (trx) => {
    const batchId = await lockChainAndReserveBatchId(trx);
    const ids = rows.map((row) => row.upstreamId);
    const probe = spec.partitioned
      ? (() => {
          const times = rows.map((row) => row.occurredAt);
          const sorted = [...times].sort();
          return [sourceId, ids, times, sorted[0], sorted[sorted.length - 1]];
        })()
      : [sourceId, ids];
    const existing = await runRaw<{ i: number; record_sha256: string }>(trx, eventProbeSql(spec), probe);
    const storedHash = new Map(existing.map((row) => [row.i - 1, row.record_sha256]));
    const fresh: PreparedEvent[] = [];
    const changed: PreparedEvent[] = [];
    rows.forEach((row, i) => {
      const hash = storedHash.get(i);
      if (hash === undefined) fresh.push(row);
      else if (hash !== row.hash) changed.push(row);
    });
    const columns = ['source_id', 'batch_id', ...eventCopyColumns(spec)];
    let waited = false;
    const once = () => {
      if (!waited) whileWaiting();
      waited = true;
    };
    if (fresh.length > 0) await copyInto(trx, spec.name, columns, copyRows(spec, sourceId, batchId, fresh, once));
    let revised: string[] = [];
    if (changed.length > 0) {
      await runRaw(trx, eventStageSql(spec), []);
      await copyInto(trx, stageName(spec), columns, copyRows(spec, sourceId, batchId, changed, once));
      revised = (await runRaw<{ upstream_id: string }>(trx, eventMergeSql(spec), [])).map((row) => row.upstream_id);
    }
    once();
    const hashes = new Map(changed.map((row) => [row.upstreamId, row.hash]));
    const entries = [
      ...fresh.map((row) => ({ key: row.upstreamId, hash: row.hash })),
      ...revised.map((key) => ({ key, hash: hashes.get(key)! })),
    ];
    return {
      inserted: fresh.length,
      revised: revised.length,
      unchanged: rows.length - entries.length,
      quarantined: 0,
      batchIds: await chainWritten(trx, spec, sourceId, batchId, runId, entries),
    };
  });
}

export function createEvidenceRepository(db: Kysely<Database>): EvidenceRepository {
  const knownPartitions = new Set<string>();

  return {
    async writeEvents(table, sourceId, records, options = {}) {
      const spec: EventTableSpec = eventTables[table];
      const total = emptyOutcome();
      const { storable, quarantined } = await setAsideUnstorable(db, table, sourceId, records, options);
      total.quarantined += quarantined;
      // Partitioned tables are keyed by (id, time); the chain lists a batch's rows by id,
      // so an id must be unique within a batch either way.
      const unique = dedupe(storable, (r) => r.upstream_id);
      total.unchanged += storable.length - unique.length;
      // The months of the batch, and this month and the next ones ahead of the clock.
      if (spec.partitioned)
        await ensureMonthlyPartitions(db, spec.name, [...unique.map((r) => r.occurred_at), ...monthsAhead(new Date())], knownPartitions);
      // While the database writes one chunk, Node prepares (hashes, packs, serialises) the next.
      const parts = chunks(unique, options.batchRows ?? DEFAULT_BATCH_ROWS);
      let next = parts[0] ? prepareEvents(spec, parts[0]) : undefined;
      for (let i = 0; i < parts.length; i++) {
        const current = next!;
        next = undefined;
        const following = parts[i + 1];
        addOutcome(
          total,
          await writeEventChunk(db, spec, sourceId, current, options.runId ?? null, () => {
            if (following) next = prepareEvents(spec, following);
          }),
        );
        if (following && !next) next = prepareEvents(spec, following);
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
      const observed = observedAt.toISOString();
      let objectCount = 0;
      // An object set aside as unstorable was listed but is not marked seen: a complete
      // snapshot would tombstone it as removed. Such a snapshot is finished incomplete.
      let setAside = 0;

      return {
        snapshotId,
        async write(records) {
          const total = emptyOutcome();
          const { storable, quarantined } = await setAsideUnstorable(db, table, sourceId, records, options);
          total.quarantined += quarantined;
          setAside += quarantined;
          const unique = dedupe(storable, (r) => r.upstream_id);
          total.unchanged += storable.length - unique.length;
          for (const chunk of chunks(unique, DEFAULT_BATCH_ROWS)) {
            const prepared = prepareStateRows(spec, chunk);
            const part = await db.transaction().execute(async (trx): Promise<WriteOutcome> => {
              const batchId = await lockChainAndReserveBatchId(trx);
              const rows = await runRaw<{ upstream_id: string | null; seen: number }>(trx, stateInsertSql(spec), [
                sourceId,
                batchId,
                snapshotId,
                observed,
                prepared.json,
              ]);
              const written = rows.flatMap((row) => (row.upstream_id === null ? [] : [row.upstream_id]));
              objectCount += rows[0]?.seen ?? 0;
              const entries = written.map((id) => ({ key: stateKey(id, observedAt), hash: prepared.hashes.get(id)! }));
              return {
                inserted: written.length,
                revised: 0,
                unchanged: chunk.length - written.length,
                quarantined: 0,
                batchIds: await chainWritten(trx, spec, sourceId, batchId, runId, entries),
              };
            });
            addOutcome(total, part);
          }
          return total;
        },

        async finish(options) {
          const complete = options.complete && setAside === 0;
          return db.transaction().execute(async (trx) => {
            const outcome = emptyOutcome();
            let removed = 0;
            if (complete) {
              const batchId = await lockChainAndReserveBatchId(trx);
              const hash = tombstoneHash(spec);
              const rows = await runRaw<{ upstream_id: string }>(trx, tombstoneSql(spec), [sourceId, batchId, snapshotId, observed, hash]);
              removed = rows.length;
              const entries = rows.map((r) => ({ key: stateKey(r.upstream_id, observedAt), hash }));
              outcome.batchIds.push(...(await chainWritten(trx, spec, sourceId, batchId, runId, entries)));
            }
            await trx.deleteFrom('snapshot_seen').where('snapshot_id', '=', snapshotId).execute();
            await trx.updateTable('snapshot').set({ complete, object_count: objectCount }).where('id', '=', snapshotId).execute();
            return { ...outcome, removed };
          });
        },
      };
    },
  };
}
