// The evidence hash chain: every batch the writer stores is chained to the one before
// it, and `verify --store` walks the chain and recomputes each batch's content from the
// rows themselves. Editing, deleting or adding evidence rows, or editing a batch
// header, breaks the check at the first batch concerned.
import { createHash } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import { archivedRowHashSql, batchKeySql, contentHashAggregateSql, rowHashSql } from './record-hash.js';
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
    .update([previous, batch.id, batch.sourceId, batch.targetTable, batch.rowCount, batch.contentSha256, batch.writtenAt.toISOString()].join('|'))
    .digest('hex');
}

/** Appends a batch to the chain. Call inside the batch's transaction, after taking
 *  the chain lock (lockChain) and writing the rows. */
export async function appendBatch(trx: Transaction<Database>, header: Omit<BatchHeader, 'writtenAt'> & { runId: number | null }): Promise<void> {
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

/** Content hash of what a batch wrote into one table, from the stored record hashes. */
export async function storedBatchContent(trx: Transaction<Database>, spec: EvidenceTableSpec, batchId: number): Promise<{ rowCount: number; contentSha256: string }> {
  const { rows } = await sql<{ row_count: number; content: string }>`
    select count(*)::int as row_count, ${sql.raw(contentHashAggregateSql(batchKeySql(spec, 't'), 't.record_sha256'))} as content
    from ${sql.table(spec.name)} t where t.batch_id = ${batchId}`.execute(trx);
  return { rowCount: rows[0]!.row_count, contentSha256: rows[0]!.content };
}

export interface ChainVerification {
  intact: boolean;
  batches: number;
  rows: number;
  /** The first batch that no longer matches, and why. */
  firstBroken?: { batchId: number | null; table: string | null; reason: string };
}

/** Recomputes every batch's content from the rows (live and archived revisions) and
 *  walks the chain. Reads each table once, grouped by batch. */
export async function verifyChain(db: Kysely<Database>): Promise<ChainVerification> {
  const recomputed = new Map<number, { table: string; rowCount: number; content: string }>();
  const problems: { batchId: number | null; table: string | null; reason: string }[] = [];
  let rows = 0;
  const batches = await db.selectFrom('evidence_batch').selectAll().orderBy('id').execute();
  const known = new Set(batches.map((batch) => Number(batch.id)));

  for (const spec of allEvidenceTables) {
    const revisions =
      spec.kind === 'event'
        ? `union all select r.batch_id, r.upstream_key as k, ${archivedRowHashSql(spec, 'r.row_data')} as h
           from evidence_revision r where r.target_table = '${spec.name}'`
        : '';
    const { rows: groups } = await sql<{ batch_id: number; row_count: number; content: string }>`
      select x.batch_id, count(*)::int as row_count, ${sql.raw(contentHashAggregateSql('x.k', 'x.h'))} as content
      from (select t.batch_id, ${sql.raw(batchKeySql(spec, 't'))} as k, ${sql.raw(rowHashSql(spec, 't'))} as h
            from ${sql.table(spec.name)} t ${sql.raw(revisions)}) x
      group by x.batch_id`.execute(db);
    for (const group of groups) {
      const batchId = Number(group.batch_id);
      rows += group.row_count;
      if (!known.has(batchId)) {
        problems.push({ batchId, table: spec.name, reason: `${group.row_count} row(s) in ${spec.name} claim batch ${batchId}, which the chain does not hold` });
        continue;
      }
      if (recomputed.has(batchId)) {
        problems.push({ batchId, table: spec.name, reason: `batch ${batchId} has rows in more than one table` });
        continue;
      }
      recomputed.set(batchId, { table: spec.name, rowCount: group.row_count, content: group.content });
    }
  }

  let previous = GENESIS_CHAIN_SHA256;
  for (const batch of batches) {
    const id = Number(batch.id);
    const header: BatchHeader = {
      id,
      sourceId: batch.source_id,
      targetTable: batch.target_table,
      rowCount: batch.row_count,
      contentSha256: batch.content_sha256,
      writtenAt: new Date(batch.written_at),
    };
    const found = recomputed.get(id);
    if (batch.previous_chain_sha256 !== previous || chainHash(previous, header) !== batch.chain_sha256) {
      problems.push({ batchId: id, table: batch.target_table, reason: `batch ${id} (${batch.target_table}): its header or its place in the chain was changed` });
    } else if (!found || found.table !== batch.target_table) {
      problems.push({ batchId: id, table: batch.target_table, reason: `batch ${id} (${batch.target_table}): its ${batch.row_count} row(s) are missing` });
    } else if (found.rowCount !== batch.row_count) {
      problems.push({ batchId: id, table: batch.target_table, reason: `batch ${id} (${batch.target_table}): holds ${found.rowCount} row(s), the chain recorded ${batch.row_count}` });
    } else if (found.content !== batch.content_sha256) {
      problems.push({ batchId: id, table: batch.target_table, reason: `batch ${id} (${batch.target_table}): a row's content no longer matches its recorded hash` });
    }
    previous = batch.chain_sha256;
  }

  problems.sort((a, b) => (a.batchId ?? Number.MAX_SAFE_INTEGER) - (b.batchId ?? Number.MAX_SAFE_INTEGER));
  const first = problems[0];
  return { intact: first === undefined, batches: batches.length, rows, ...(first ? { firstBroken: first } : {}) };
}
