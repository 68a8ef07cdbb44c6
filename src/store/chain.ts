// The evidence hash chain: every batch the writer stores is chained to the one before
// it, and `verify --store` walks the chain and recomputes each batch's content from the
// rows themselves. Editing, deleting or adding evidence rows, or editing a batch
// header, breaks the check at the first batch concerned.
import { createHash } from 'node:crypto';

import { type Kysely, sql, type Transaction } from 'kysely';

import { type ArchiveCheckSummary, ArchivedBatches } from './archive-verify.js';
import { decodeStoredRow } from './record-codec.js';
import { contentHash, normaliseColumnValue, recordHash, stateKey } from './record-hash.js';
import type { Database } from './schema.js';
import { allEvidenceTables, type EvidenceTableSpec } from './tables.js';

export const GENESIS_CHAIN_SHA256 = '0'.repeat(64);
export const CHAIN_LOCK_KEY = 7_305_145_003;

export interface BatchHeader {
  id: number;
  sourceId: string;
  targetTable: string;
  rowCount: number;
  contentSha256: string;
  writtenAt: Date;
}

export function chainHash(previous: string, batch: BatchHeader): string {
  return createHash('sha256')
    .update(
      [previous, batch.id, batch.sourceId, batch.targetTable, batch.rowCount, batch.contentSha256, batch.writtenAt.toISOString()].join('|'),
    )
    .digest('hex');
}

/** Appends a batch to the chain. Call inside the batch's transaction, after taking
 *  the chain lock (lockChain) and writing the rows. */
export async function appendBatch(
  trx: Transaction<Database>,
  header: Omit<BatchHeader, 'writtenAt'> & { runId: number | null },
): Promise<void> {
  const last = await trx.selectFrom('evidence_batch').select('chain_sha256').orderBy('id', 'desc').limit(1).executeTakeFirst();
  const previous = last?.chain_sha256 ?? GENESIS_CHAIN_SHA256;
  const writtenAt = new Date();
  const full: BatchHeader = { ...header, writtenAt };
  await trx
    .insertInto('evidence_batch')
    .values({
      id: header.id,
      source_id: header.sourceId,
      target_table: header.targetTable,
      run_id: header.runId,
      row_count: header.rowCount,
      content_sha256: header.contentSha256,
      previous_chain_sha256: previous,
      chain_sha256: chainHash(previous, full),
      written_at: writtenAt,
    } as never)
    .execute();
}

/** Serialises chain appends across processes, and reserves the next batch id. */
export async function lockChainAndReserveBatchId(trx: Transaction<Database>): Promise<number> {
  await sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`.execute(trx);
  const { rows } = await sql<{ id: number }>`select nextval('evidence_batch_id_seq')::bigint as id`.execute(trx);
  return Number(rows[0]!.id);
}

export interface ChainVerification {
  intact: boolean;
  batches: number;
  rows: number;
  /** The first batch that no longer matches, and why. */
  firstBroken?: { batchId: number | null; table: string | null; reason: string };
  /** Rows archived out of the store (src/store/archive.ts): read back from their files,
   *  or, for files not in the archive directory, accounted for by their manifests. */
  archived?: ArchiveCheckSummary;
}

type Row = Record<string, unknown>;

/** Recomputes a stored row's hash exactly as the writer computed it, from the record
 *  and columns as stored (packed or not: record-codec.ts). */
export function storedRowHash(spec: EvidenceTableSpec, stored: Row): { key: string; hash: string } {
  const row = spec.kind === 'event' ? decodeStoredRow(stored, spec.packed?.columns) : stored;
  const values = spec.columns.map((column) => normaliseColumnValue(column, row[column.name]));
  if (spec.kind === 'event') {
    const occurredAt = normaliseColumnValue({ name: 'occurred_at', type: 'timestamptz' }, row['occurred_at']);
    return { key: String(row['upstream_id']), hash: recordHash(occurredAt, values, row['raw']) };
  }
  const observedAt = new Date(row['observed_at'] as string | Date);
  return { key: stateKey(String(row['upstream_id']), observedAt), hash: recordHash(Boolean(row['present']), values, row['raw']) };
}

/** Recomputes every batch's content from its rows (live, archived revisions, and rows
 *  archived to files in `archiveDir`) and walks the chain, batch by batch, so memory
 *  stays flat however large the store is. */
export async function verifyChain(db: Kysely<Database>, options: { archiveDir?: string } = {}): Promise<ChainVerification> {
  const archives = await ArchivedBatches.load(db, options.archiveDir);
  try {
    return await walkChain(db, archives);
  } finally {
    archives.close();
  }
}

async function walkChain(db: Kysely<Database>, archives: ArchivedBatches): Promise<ChainVerification> {
  const specs = new Map(allEvidenceTables.map((spec) => [spec.name, spec]));
  const problems: { batchId: number | null; table: string | null; reason: string }[] = [];
  const batches = await db.selectFrom('evidence_batch').selectAll().orderBy('id').execute();
  let rows = 0;

  // Rows that claim a batch the chain does not hold (inserted behind the writer's back).
  for (const spec of allEvidenceTables) {
    const { rows: orphans } = await sql<{ batch_id: number; n: number }>`
      select t.batch_id, count(*)::int as n from ${sql.table(spec.name)} t
      where not exists (select 1 from evidence_batch b where b.id = t.batch_id)
      group by t.batch_id order by t.batch_id limit 1`.execute(db);
    const orphan = orphans[0];
    if (orphan)
      problems.push({
        batchId: Number(orphan.batch_id),
        table: spec.name,
        reason: `${orphan.n} row(s) in ${spec.name} claim batch ${orphan.batch_id}, which the chain does not hold`,
      });
  }

  let previous = GENESIS_CHAIN_SHA256;
  for (const batch of batches) {
    const id = Number(batch.id);
    const where = `batch ${id} (${batch.target_table})`;
    const header: BatchHeader = {
      id,
      sourceId: batch.source_id,
      targetTable: batch.target_table,
      rowCount: batch.row_count,
      contentSha256: batch.content_sha256,
      writtenAt: new Date(batch.written_at),
    };
    if (batch.previous_chain_sha256 !== previous || chainHash(previous, header) !== batch.chain_sha256) {
      problems.push({ batchId: id, table: batch.target_table, reason: `${where}: its header or its place in the chain was changed` });
      break;
    }
    previous = batch.chain_sha256;
    const spec = specs.get(batch.target_table);
    if (!spec) {
      problems.push({ batchId: id, table: batch.target_table, reason: `${where}: names a table that holds no evidence` });
      break;
    }
    const live = (await sql<Row>`select * from ${sql.table(spec.name)} where batch_id = ${id}`.execute(db)).rows;
    const archived =
      spec.kind === 'event'
        ? (
            await db
              .selectFrom('evidence_revision')
              .select('row_data')
              .where('target_table', '=', spec.name)
              .where('batch_id', '=', id)
              .execute()
          ).map((r) => r.row_data as Row)
        : [];
    const inFiles = archives.empty ? { rows: [], unavailableRows: 0, problems: [], files: [] } : await archives.rowsOf(id);
    if (inFiles.problems.length > 0) {
      problems.push(...inFiles.problems);
      break;
    }
    let entries: { key: string; hash: string }[];
    try {
      entries = [...live, ...archived, ...inFiles.rows].map((row) => storedRowHash(spec, row));
    } catch (error) {
      // A packed record that no longer inflates or parses (its bytes were changed).
      problems.push({
        batchId: id,
        table: spec.name,
        reason: `${where}: a row's record cannot be read back (${(error as Error).message})`,
      });
      break;
    }
    rows += entries.length;
    const accounted = entries.length + inFiles.unavailableRows;
    if (accounted < batch.row_count) {
      problems.push({
        batchId: id,
        table: spec.name,
        reason: `${where}: ${batch.row_count - accounted} of its ${batch.row_count} row(s) are missing`,
      });
      break;
    }
    if (accounted > batch.row_count) {
      problems.push({
        batchId: id,
        table: spec.name,
        reason: `${where}: holds ${accounted} row(s), the chain recorded ${batch.row_count}`,
      });
      break;
    }
    // Part of the batch is in an archive file that is not here: counted, not hashed.
    if (inFiles.unavailableRows > 0) {
      archives.unverifiedBatches++;
      continue;
    }
    if (contentHash(entries) !== batch.content_sha256) {
      const read = inFiles.files.length > 0 ? ` (${inFiles.rows.length} of its rows read from ${inFiles.files.join(', ')})` : '';
      problems.push({ batchId: id, table: spec.name, reason: `${where}: a row's content no longer matches its recorded hash${read}` });
      break;
    }
  }

  problems.sort((a, b) => (a.batchId ?? Number.MAX_SAFE_INTEGER) - (b.batchId ?? Number.MAX_SAFE_INTEGER));
  const first = problems[0];
  return {
    intact: first === undefined,
    batches: batches.length,
    rows,
    ...(first ? { firstBroken: first } : {}),
    ...(archives.empty ? {} : { archived: archives.summary() }),
  };
}
