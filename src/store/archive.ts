// Evidence retention at size (issue 13): the monthly partitions of the partitioned
// evidence tables that lie wholly before the retention horizon and outside every
// protected period (stored reports, quarters a report may still be built for) are
// written to an archive file, checked, and only then detached and dropped.
//
// The order, for one partition, and what a crash at each point leaves:
//   1. rows → `<partition>.<n>.ndjson.gz.partial`, fsynced       crash: a .partial file (rewritten next run)
//   2. the file read back: its SHA-256, row count and content hash must equal what was
//      written                                                    crash: as 1
//   3. rename to `<partition>.<n>.ndjson.gz`, manifest beside it, directory fsynced
//                                                                 crash: a complete file no store row names
//                                                                 (the partition is still there; the next run
//                                                                 writes the same names again)
//   4. one transaction: lock, check the partition has not changed since 1 (row count,
//      max and sum of batch ids), record the manifest (evidence_archive and its
//      batches), DETACH, DROP, commit                             crash: rolled back, nothing changed
// Every step before the commit leaves the partition in the store, and the commit
// happens only after the file was checked on disk: nothing is lost at any point.
import path from 'node:path';

import { type Kysely, sql } from 'kysely';

import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  ArchiveCursor,
  type ArchiveManifest,
  manifestNameOf,
  partialName,
  publishArchive,
  readBackArchive,
  removePartial,
  writeManifest,
  writePartialArchive,
} from './archive-file.js';
import type { TimeRange } from './collection.repository.js';
import { isEmbeddedStore } from './database.js';
import { PARTITION_LOCK_KEY } from './partitions.js';
import type { Database } from './schema.js';
import { tableOfStream } from './streams.js';
import { eventTables } from './tables.js';

/** A period whose evidence must stay in the store, and why. */
export interface ProtectedPeriod extends TimeRange {
  reason: string;
}

export interface MonthlyPartition {
  table: string;
  name: string;
  from: Date;
  to: Date;
}

export interface PartitionDecision extends MonthlyPartition {
  action: 'archive' | 'keep';
  reason: string;
}

export interface ArchivedPartition extends MonthlyPartition {
  rows: number;
  file: string;
  manifest: string;
  sha256: string;
  bytes: number;
}

/** The points between the steps above, for tests that fail or kill the run there. */
export type ArchiveStep = 'file-written' | 'file-checked' | 'file-published' | 'recorded' | 'detached' | 'dropped' | 'committed';

export interface ArchiveRunOptions {
  db: Kysely<Database>;
  /** Where the archive files go (ACCESSTRAIL_ARCHIVE_DIR). */
  archiveDir: string;
  /** The retention horizon: partitions ending at or before it may go. */
  horizon: Date;
  protectedPeriods: readonly ProtectedPeriod[];
  dryRun?: boolean;
  logger?: Logger;
  /** Called between the steps (tests). */
  onStep?: (step: ArchiveStep, partition: MonthlyPartition) => Promise<void> | void;
  /** Rows per read (default 5,000, the writer's batch). */
  pageRows?: number;
  /** How long the detach waits for the table's readers and writers (default 60 s). */
  lockTimeoutMs?: number;
}

export interface ArchiveRunOutcome {
  decisions: PartitionDecision[];
  archived: ArchivedPartition[];
  /** Partitions that changed while being archived (written to meanwhile): left for the next run. */
  deferred: { partition: string; reason: string }[];
}

const iso = (date: Date) => date.toISOString();
const monthLabel = (date: Date) => iso(date).slice(0, 7);

/** The first instant of the month `months` before `now`'s month (UTC). */
export function retentionHorizon(now: Date, months: number): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1));
}

/** The partitioned evidence tables (tables.ts says which; the catalogue must agree). */
export function partitionedTables(): string[] {
  return Object.values(eventTables)
    .filter((spec) => spec.partitioned)
    .map((spec) => spec.name);
}

/** Every partition of the partitioned evidence tables with monthly bounds, oldest first. */
export async function listMonthlyPartitions(db: Kysely<Database>): Promise<MonthlyPartition[]> {
  const tables = partitionedTables();
  const { rows } = await sql<{ parent: string; name: string; bound_from: Date | null; bound_to: Date | null }>`
    select p.relname as parent, c.relname as name,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\(''([^'']+)''\\)'))[1]::timestamptz as bound_from,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \\(''([^'']+)''\\)'))[1]::timestamptz as bound_to
    from pg_inherits i
    join pg_class c on c.oid = i.inhrelid
    join pg_class p on p.oid = i.inhparent
    where p.relname = any(${tables}::text[]) and p.relkind = 'p'
    order by p.relname, bound_from`.execute(db);
  const partitions: MonthlyPartition[] = [];
  for (const row of rows) {
    if (!row.bound_from || !row.bound_to) continue;
    const from = new Date(row.bound_from);
    const to = new Date(row.bound_to);
    const monthly =
      from.getTime() === Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), 1) &&
      to.getTime() === Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + 1, 1);
    if (monthly) partitions.push({ table: row.parent, name: row.name, from, to });
  }
  return partitions.sort((a, b) => a.from.getTime() - b.from.getTime() || a.table.localeCompare(b.table));
}

const overlaps = (a: TimeRange, b: TimeRange) => a.from.getTime() < b.to.getTime() && b.from.getTime() < a.to.getTime();

/** What becomes of each partition: archived only when wholly before the horizon and
 *  outside every protected period. */
export function decide(
  partitions: readonly MonthlyPartition[],
  horizon: Date,
  protectedPeriods: readonly ProtectedPeriod[],
): PartitionDecision[] {
  return partitions.map((partition) => {
    if (partition.to.getTime() > horizon.getTime())
      return { ...partition, action: 'keep', reason: `inside the retention horizon (evidence from ${iso(horizon)} on is kept)` };
    const period = protectedPeriods.find((p) => overlaps(p, partition));
    if (period) return { ...partition, action: 'keep', reason: `overlaps ${period.reason} (${iso(period.from)} → ${iso(period.to)})` };
    return { ...partition, action: 'archive', reason: `before the retention horizon ${iso(horizon)}` };
  });
}

interface Fingerprint {
  rows: number;
  maxBatch: number;
  sumBatch: string;
}

async function fingerprint(db: Kysely<Database>, partition: string): Promise<Fingerprint> {
  const { rows } = await sql<{ rows: number; max_batch: number; sum_batch: string }>`
    select count(*)::bigint as rows, coalesce(max(batch_id), 0)::bigint as max_batch, coalesce(sum(batch_id), 0)::text as sum_batch
    from ${sql.table(partition)}`.execute(db);
  const row = rows[0]!;
  return { rows: Number(row.rows), maxBatch: Number(row.max_batch), sumBatch: row.sum_batch };
}

const sameFingerprint = (a: Fingerprint, b: Fingerprint) => a.rows === b.rows && a.maxBatch === b.maxBatch && a.sumBatch === b.sumBatch;

/** The partition's rows as NDJSON lines, batch by batch (ascending), in pages. A batch
 *  of at most a page (the writer's batches are 5,000 rows) is one read by the BRIN batch
 *  index, in heap order; a larger one is paged by its key, (source_id, occurred_at,
 *  upstream_id) on every partitioned table (assertKeyed). */
async function* partitionLines(
  db: Kysely<Database>,
  partition: string,
  batches: readonly { batchId: number; rows: number }[],
  pageRows: number,
): AsyncGenerator<string[]> {
  for (const { batchId, rows: count } of batches) {
    if (count <= pageRows) {
      const { rows } = await sql<{ line: string }>`
        select to_jsonb(t)::text as line from ${sql.table(partition)} t where t.batch_id = ${batchId}`.execute(db);
      yield rows.map((row) => row.line);
      continue;
    }
    let after: { source: string; at: string; id: string } | undefined;
    for (;;) {
      const { rows } = await sql<{ line: string; source_id: string; at: string; upstream_id: string }>`
        select to_jsonb(t)::text as line, t.source_id, t.occurred_at::text as at, t.upstream_id
        from ${sql.table(partition)} t
        where t.batch_id = ${batchId}
          ${after ? sql`and (t.source_id, t.occurred_at, t.upstream_id) > (${after.source}, ${after.at}::timestamptz, ${after.id})` : sql``}
        order by t.source_id, t.occurred_at, t.upstream_id
        limit ${pageRows}`.execute(db);
      if (rows.length === 0) break;
      yield rows.map((row) => row.line);
      const last = rows[rows.length - 1]!;
      after = { source: last.source_id, at: last.at, id: last.upstream_id };
      if (rows.length < pageRows) break;
    }
  }
}

/** One scan of the partition: rows per batch and per source, and its fingerprint. */
async function census(
  db: Kysely<Database>,
  partition: string,
): Promise<{ fingerprint: Fingerprint; batches: { batchId: number; rows: number }[]; sources: Record<string, number> }> {
  const { rows } = await sql<{ batch_id: number; source_id: string; rows: number }>`
    select batch_id, source_id, count(*)::int as rows from ${sql.table(partition)}
    group by batch_id, source_id order by batch_id, source_id`.execute(db);
  const batches: { batchId: number; rows: number }[] = [];
  const sources: Record<string, number> = {};
  let total = 0;
  let sum = 0n;
  for (const row of rows) {
    const batchId = Number(row.batch_id);
    const count = Number(row.rows);
    const last = batches[batches.length - 1];
    if (last?.batchId === batchId) last.rows += count;
    else batches.push({ batchId, rows: count });
    sources[row.source_id] = (sources[row.source_id] ?? 0) + count;
    total += count;
    sum += BigInt(batchId) * BigInt(count);
  }
  return {
    fingerprint: { rows: total, maxBatch: batches[batches.length - 1]?.batchId ?? 0, sumBatch: sum.toString() },
    batches,
    sources,
  };
}

class PartitionChanged extends Error {}

// --- report builds against the archiver ------------------------------------------
//
// A report reads its period's rows over minutes; the archiver must not drop a month
// under it. Each build holds a shared advisory lock for its whole duration (on a
// connection of its own); the archiver's drop transaction takes the same lock
// exclusively, without waiting, and leaves the partition for the next run when a build
// holds it. A build that starts after the drop finds the month archived and is refused.
// On the embedded store (one process) a counter does the same.
const REPORT_BUILD_LOCK_KEY = 7_305_145_013;
const buildsInProcess = new WeakMap<object, number>();

/** Runs a report build so that no partition of the store is archived while it runs. */
export async function duringReportBuild<T>(db: Kysely<Database>, work: () => Promise<T>): Promise<T> {
  if (isEmbeddedStore(db)) {
    buildsInProcess.set(db, (buildsInProcess.get(db) ?? 0) + 1);
    try {
      return await work();
    } finally {
      buildsInProcess.set(db, (buildsInProcess.get(db) ?? 1) - 1);
    }
  }
  return db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock_shared(${REPORT_BUILD_LOCK_KEY})`.execute(connection);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock_shared(${REPORT_BUILD_LOCK_KEY})`.execute(connection).catch(() => undefined);
    }
  });
}

async function noReportBeingBuilt(db: Kysely<Database>, trx: Kysely<Database>): Promise<boolean> {
  if (isEmbeddedStore(db)) return (buildsInProcess.get(db) ?? 0) === 0;
  const { rows } = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(${REPORT_BUILD_LOCK_KEY}) as ok`.execute(trx);
  return rows[0]?.ok === true;
}

async function assertKeyed(db: Kysely<Database>, table: string): Promise<void> {
  const { rows } = await sql<{ columns: string }>`
    select string_agg(a.attname, ',' order by k.ord) as columns
    from pg_index i
    cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
    join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
    where i.indrelid = ${table}::regclass and i.indisprimary`.execute(db);
  if (rows[0]?.columns !== 'source_id,occurred_at,upstream_id')
    throw new Error(
      `${table}: the archiver reads partitions by (source_id, occurred_at, upstream_id), its primary key is (${rows[0]?.columns})`,
    );
}

/** The partition's BRIN indexes (the batch index, migration 0008) summarise a block
 *  range only when VACUUM gets to it; a range not summarised yet is read by every batch
 *  lookup. Summarising the new ranges first keeps the batch-by-batch read linear. */
async function summariseBrin(db: Kysely<Database>, partition: string): Promise<void> {
  const { rows } = await sql<{ index: string }>`
    select i.indexrelid::regclass::text as index from pg_index i
    join pg_class c on c.oid = i.indexrelid join pg_am a on a.oid = c.relam
    where i.indrelid = ${partition}::regclass and a.amname = 'brin'`.execute(db);
  for (const row of rows) await sql`select brin_summarize_new_values(${row.index}::regclass)`.execute(db);
}

async function nextFileBase(db: Kysely<Database>, partition: string): Promise<string> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from evidence_archive where partition_name = ${partition}`.execute(db);
  return `${partition}.${(rows[0]?.n ?? 0) + 1}`;
}

async function archiveOne(options: ArchiveRunOptions, partition: MonthlyPartition): Promise<ArchivedPartition> {
  const { db } = options;
  const step = async (name: ArchiveStep) => options.onStep?.(name, partition);
  const pageRows = options.pageRows ?? 5_000;
  await assertKeyed(db, partition.table);

  await summariseBrin(db, partition.name);
  const { fingerprint: before, batches, sources } = await census(db, partition.name);

  const base = await nextFileBase(db, partition.name);
  const fileName = `${base}.ndjson.gz`;
  const file = path.join(options.archiveDir, fileName);
  const manifestFile = manifestNameOf(file);
  await removePartial(file);

  // 1. Write and fsync.
  const written = await writePartialArchive(file, partitionLines(db, partition.name, batches, pageRows));
  if (written.rows !== before.rows) throw new PartitionChanged(`${written.rows} rows read, ${before.rows} counted before`);
  await step('file-written');

  // 2. Read back from disk: the same bytes, the same rows.
  const check = await readBackArchive(partialName(file));
  if (
    check.sha256 !== written.sha256 ||
    check.rows !== written.rows ||
    check.contentSha256 !== written.contentSha256 ||
    check.bytes !== written.bytes
  )
    throw new Error(`${fileName}: the file read back from disk differs from what was written (sha256 ${check.sha256} ≠ ${written.sha256})`);
  await step('file-checked');

  // 3. Publish the file and its manifest.
  await publishArchive(file);
  const manifest: ArchiveManifest = {
    format: 'accesstrail-evidence-archive/1',
    table: partition.table,
    partition: partition.name,
    from: iso(partition.from),
    to: iso(partition.to),
    rows: written.rows,
    file: fileName,
    sha256: written.sha256,
    bytes: written.bytes,
    contentSha256: written.contentSha256,
    sources,
    batches: batches.map((b) => ({ id: b.batchId, rows: b.rows })),
    archivedAt: iso(new Date()),
    howToVerify:
      'sha256sum the .ndjson.gz file (= sha256); each line is one row of the table as Postgres to_jsonb renders it, with its batch_id and record_sha256; `accesstrail verify --store` recomputes every record hash and batch content hash from it; `accesstrail archive --restore FILE` loads it back',
  };
  const manifestSha256 = await writeManifest(manifestFile, manifest);
  await step('file-published');

  // 4. Record, detach, drop: one transaction.
  await db.transaction().execute(async (trx) => {
    await sql.raw(`set local lock_timeout = ${Math.max(1, Math.floor(options.lockTimeoutMs ?? 60_000))}`).execute(trx);
    if (!(await noReportBeingBuilt(db, trx))) throw new PartitionChanged('a report is being built; the next run tries again');
    // A report stored since the run decided (its build has ended: the lock above) protects the month too.
    const report = await trx
      .selectFrom('report')
      .select('id')
      .where('period_from', '<', partition.to)
      .where('period_to', '>', partition.from)
      .executeTakeFirst();
    if (report) throw new PartitionChanged(`report ${report.id}, stored during this run, covers it`);
    // The same lock as partition creation: no writer makes this month's partition meanwhile.
    await sql`select pg_advisory_xact_lock(${PARTITION_LOCK_KEY})`.execute(trx);
    await sql`lock table ${sql.table(partition.table)} in access exclusive mode`.execute(trx);
    const now = await fingerprint(trx, partition.name);
    if (!sameFingerprint(before, now))
      throw new PartitionChanged(
        `written to while being archived (${before.rows} → ${now.rows} rows, last batch ${before.maxBatch} → ${now.maxBatch})`,
      );
    const inserted = await trx
      .insertInto('evidence_archive')
      .values({
        table_name: partition.table,
        partition_name: partition.name,
        month_from: partition.from,
        month_to: partition.to,
        row_count: written.rows,
        file_name: fileName,
        file_sha256: written.sha256,
        file_bytes: written.bytes,
        manifest_sha256: manifestSha256,
        sources: JSON.stringify(sources),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (let i = 0; i < batches.length; i += 1_000) {
      await trx
        .insertInto('evidence_archive_batch')
        .values(batches.slice(i, i + 1_000).map((b) => ({ archive_id: inserted.id, batch_id: b.batchId, row_count: b.rows })))
        .execute();
    }
    await step('recorded');
    await sql`alter table ${sql.table(partition.table)} detach partition ${sql.table(partition.name)}`.execute(trx);
    await step('detached');
    await sql`drop table ${sql.table(partition.name)}`.execute(trx);
    await step('dropped');
  });
  await step('committed');
  return { ...partition, rows: written.rows, file, manifest: manifestFile, sha256: written.sha256, bytes: written.bytes };
}

/** Archives, detaches and drops every partition `decide` lets go. Idempotent: a rerun
 *  finds those partitions gone and the others as they were. */
export async function archivePartitions(options: ArchiveRunOptions): Promise<ArchiveRunOutcome> {
  const decisions = decide(await listMonthlyPartitions(options.db), options.horizon, options.protectedPeriods);
  const outcome: ArchiveRunOutcome = { decisions, archived: [], deferred: [] };
  if (options.dryRun) return outcome;
  for (const decision of decisions) {
    if (decision.action !== 'archive') continue;
    try {
      const archived = await archiveOne(options, decision);
      options.logger?.info(
        { table: archived.table, partition: archived.name, rows: archived.rows, file: archived.file, sha256: archived.sha256 },
        `archived ${archived.table} ${monthLabel(archived.from)}: ${archived.rows} rows to ${archived.file}`,
      );
      outcome.archived.push(archived);
    } catch (caught) {
      let error = caught;
      // The table stayed busy past lock_timeout (55P03) or the lock wait met another in a
      // deadlock (40P01): rolled back, nothing changed; the next run tries again.
      const code = (error as { code?: unknown }).code;
      if (code === '55P03' || code === '40P01')
        error = new PartitionChanged(`the table was busy (${String(code)}): ${(error as Error).message}`);
      if (!(error instanceof PartitionChanged)) throw error;
      options.logger?.warn({ partition: decision.name }, `${decision.name} not archived: ${error.message}; the next run tries again`);
      outcome.deferred.push({ partition: decision.name, reason: error.message });
    }
  }
  return outcome;
}

// --- what the other layers read -----------------------------------------------------

export interface ActiveArchive {
  id: number;
  table: string;
  partition: string;
  from: Date;
  to: Date;
  rows: number;
  fileName: string;
  sha256: string;
  manifestSha256: string;
  /** Rows per source id. */
  sources: Record<string, number>;
}

/** Archives whose rows are out of the store (not restored), oldest first. */
export async function readActiveArchives(db: Kysely<Database>, within?: TimeRange): Promise<ActiveArchive[]> {
  let query = db
    .selectFrom('evidence_archive')
    .select([
      'id',
      'table_name',
      'partition_name',
      'month_from',
      'month_to',
      'row_count',
      'file_name',
      'file_sha256',
      'manifest_sha256',
      'sources',
    ])
    .where('restored_at', 'is', null);
  if (within) query = query.where('month_from', '<', within.to).where('month_to', '>', within.from);
  const rows = await query.orderBy('month_from').orderBy('table_name').orderBy('id').execute();
  return rows.map((row) => ({
    id: Number(row.id),
    table: row.table_name,
    partition: row.partition_name,
    from: new Date(row.month_from),
    to: new Date(row.month_to),
    rows: Number(row.row_count),
    fileName: row.file_name,
    sha256: row.file_sha256,
    manifestSha256: row.manifest_sha256,
    sources: (typeof row.sources === 'string' ? JSON.parse(row.sources) : row.sources) as Record<string, number>,
  }));
}

/** A source's coverage of a stream without the months whose rows of that source were
 *  archived: what the store still holds rows for. (Coverage says a stream was collected
 *  completely; once a month's rows are archived the store can no longer show what
 *  happened then. A month in which the source had no rows lost nothing.) */
export function withoutArchived(
  sourceId: string,
  stream: string,
  ranges: readonly TimeRange[],
  archives: readonly ActiveArchive[],
): TimeRange[] {
  const table = tableOfStream(stream);
  const holes = archives.filter((a) => a.table === table && (a.sources[sourceId] ?? 0) > 0);
  let result = [...ranges];
  for (const hole of holes) {
    const next: TimeRange[] = [];
    for (const range of result) {
      if (!overlaps(range, hole)) {
        next.push(range);
        continue;
      }
      if (range.from.getTime() < hole.from.getTime()) next.push({ from: range.from, to: hole.from });
      if (range.to.getTime() > hole.to.getTime()) next.push({ from: hole.to, to: range.to });
    }
    result = next;
  }
  return result;
}

export function describeArchive(archive: ActiveArchive): string {
  return `${archive.table} ${monthLabel(archive.from)} (${archive.rows} rows, ${archive.fileName}, sha256 ${archive.sha256})`;
}

// --- restore ------------------------------------------------------------------------

export interface RestoreOutcome {
  table: string;
  partition: string;
  rows: number;
  archiveId: number;
}

/** Loads an archive file back into its partition (created again if needed), after
 *  checking it against its manifest in the store: the file's SHA-256 and its row count.
 *  One transaction: the rows and the manifest's restored_at, or nothing. */
export async function restoreArchive(db: Kysely<Database>, file: string, options: { pageRows?: number } = {}): Promise<RestoreOutcome> {
  const fileName = path.basename(file);
  const archive = await db.selectFrom('evidence_archive').selectAll().where('file_name', '=', fileName).executeTakeFirst();
  if (!archive) throw new AppError('NOT_FOUND', `${fileName} is not an archive of this store (no evidence_archive row names it)`);
  if (archive.restored_at) throw new AppError('CONFLICT', `${fileName} was restored already (${iso(new Date(archive.restored_at))})`);
  const reader = await ArchiveCursor.open(file);
  if (!reader) throw new AppError('NOT_FOUND', `${file} does not exist or cannot be read`);
  const checked = await reader.finish().catch((error: unknown) => {
    throw new AppError('VERIFY_FAILED', `${fileName} cannot be read as an archive: ${(error as Error).message}`);
  });
  if (checked.sha256 !== archive.file_sha256)
    throw new AppError(
      'VERIFY_FAILED',
      `${fileName}: SHA-256 ${checked.sha256} is not the manifest's ${archive.file_sha256}: the file was changed`,
    );
  if (checked.rows !== Number(archive.row_count))
    throw new AppError('VERIFY_FAILED', `${fileName}: ${checked.rows} rows, the manifest recorded ${archive.row_count}`);
  const table = archive.table_name;
  const partition = archive.partition_name;
  const from = new Date(archive.month_from);
  const to = new Date(archive.month_to);
  const pageRows = options.pageRows ?? 2_000;
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${PARTITION_LOCK_KEY})`.execute(trx);
    await sql
      .raw(`create table if not exists ${partition} partition of ${table} for values from ('${iso(from)}') to ('${iso(to)}')`)
      .execute(trx);
    const cursor = await ArchiveCursor.open(file);
    if (!cursor) throw new AppError('NOT_FOUND', `${fileName} cannot be read`);
    try {
      // The lines go to Postgres as text, never re-serialised here: jsonb gets back
      // exactly what to_jsonb rendered (numbers included).
      let page: string[] = [];
      const flush = async () => {
        if (page.length === 0) return;
        const { rows } = await sql<{ n: number }>`
          with inserted as (
            insert into ${sql.table(table)}
            select r.* from jsonb_populate_recordset(null::${sql.table(table)}, ${`[${page.join(',')}]`}::jsonb) r
            on conflict do nothing
            returning 1
          ) select count(*)::int as n from inserted`.execute(trx);
        if (Number(rows[0]!.n) !== page.length)
          throw new AppError(
            'CONFLICT',
            `${fileName}: ${page.length - Number(rows[0]!.n)} of its rows are in the store already (collected again after the archive): nothing was restored`,
          );
        page = [];
      };
      for (;;) {
        const batch = await cursor.peekBatch();
        if (batch === undefined) break;
        for (const row of await cursor.takeBatch(batch)) page.push(row.line);
        if (page.length >= pageRows) await flush();
      }
      await flush();
    } finally {
      cursor.close();
    }
    await trx.updateTable('evidence_archive').set({ restored_at: new Date() }).where('id', '=', archive.id).execute();
  });
  return { table, partition, rows: checked.rows, archiveId: Number(archive.id) };
}
