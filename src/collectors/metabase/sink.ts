// Writing mapped Metabase rows: events through the evidence repository, state through a
// snapshot writer, malformed rows
// to the quarantine (with the reason, never dropped silently), and the running counts a
// StreamSummary reports. Shared by the database reader, the API reader and the CSV import.
import type { SnapshotWriter, WriteOutcome } from '../../store/evidence.repository.js';
import type { EventRecord, EventTableName, StateRecord, StateTableName } from '../../store/tables.js';
import type { CollectContext, Mapped, StreamSummary } from '../types.js';
import { mapAccount, mapApiKey, mapGroup, mapMembership, type Row } from './mapping.js';

export function emptySummary(stream: string): StreamSummary {
  return { stream, records: 0, inserted: 0, revised: 0, quarantined: 0, coverage: [], notes: [] };
}

export interface MappedBatch<R> {
  records: R[];
  quarantine: Array<{ upstreamId: string | null; reason: string; payload: unknown }>;
}

/** Maps rows; rows with problems are queued for the quarantine (their record, if any, is kept). */
export function mapBatch<R extends { upstream_id: string; raw: unknown }>(
  rows: readonly Row[],
  map: (row: Row) => Mapped<R>,
  safePayload: (row: Row) => unknown,
  upstreamIdOf: (row: Row) => string | null,
): MappedBatch<R> {
  const batch: MappedBatch<R> = { records: [], quarantine: [] };
  for (const row of rows) {
    const { record, problems } = map(row);
    if (record) batch.records.push(record);
    if (problems.length > 0)
      batch.quarantine.push({
        upstreamId: record?.upstream_id ?? upstreamIdOf(row),
        reason: problems.join('; '),
        payload: record?.raw ?? safePayload(row),
      });
  }
  return batch;
}

export async function quarantineAll(
  context: CollectContext,
  sourceId: string,
  stream: string,
  batch: MappedBatch<unknown>,
  summary: StreamSummary,
): Promise<void> {
  for (const item of batch.quarantine) {
    await context.collection.quarantine({
      sourceId,
      stream,
      upstreamId: item.upstreamId,
      reason: item.reason,
      payload: item.payload,
      runId: context.runId,
    });
    summary.quarantined += 1;
  }
}

/** Where a batch's records go: an event table or a snapshot being written (whose outcome
 *  never counts revisions: a snapshot adds versions). */
export type RecordWrite<R> = (records: R[]) => Promise<WriteOutcome>;

/** Records of an event table, written through the evidence repository. */
export const eventWrite =
  (context: CollectContext, sourceId: string, table: EventTableName): RecordWrite<EventRecord> =>
  (records) =>
    context.evidence.writeEvents(table, sourceId, records, { runId: context.runId });

/** Records of the snapshot `writer` is writing. */
export const snapshotWrite =
  (writer: SnapshotWriter): RecordWrite<StateRecord> =>
  (records) =>
    writer.write(records);

/** The one path of every Metabase batch, events or state: counts the rows read, writes the
 *  records and adds the outcome to the summary, then quarantines the rows with problems. */
export async function writeBatch<R>(
  context: CollectContext,
  sourceId: string,
  stream: string,
  rowsRead: number,
  batch: MappedBatch<R>,
  summary: StreamSummary,
  write: RecordWrite<R>,
): Promise<void> {
  summary.records += rowsRead;
  if (batch.records.length > 0) {
    const outcome = await write(batch.records);
    summary.inserted += outcome.inserted;
    summary.revised += outcome.revised;
    summary.quarantined += outcome.quarantined;
  }
  await quarantineAll(context, sourceId, stream, batch, summary);
}

/** A Metabase state stream: the state table its snapshots go to, the name its summary,
 *  progress and quarantine use, and the mapper of its rows. The database reader (by table)
 *  and the API reader (by endpoint) read the same four. */
export interface SnapshotStream {
  stateTable: StateTableName;
  name: string;
  map: (row: Row) => Mapped<StateRecord>;
}

export const snapshotStreams = {
  accounts: { stateTable: 'metabase_account_version', name: 'metabase-accounts', map: mapAccount },
  groups: { stateTable: 'metabase_group_version', name: 'metabase-groups', map: mapGroup },
  memberships: { stateTable: 'metabase_membership_version', name: 'metabase-memberships', map: mapMembership },
  apiKeys: { stateTable: 'metabase_api_key_version', name: 'metabase-api-keys', map: mapApiKey },
} as const satisfies Record<string, SnapshotStream>;

/**
 * One snapshot of a state stream from pages of rows, by either reader: every page mapped
 * and written, then the snapshot finished complete (objects no longer listed get a
 * tombstone version) — or, when a page cannot be read, finished incomplete so that a
 * failed run never takes anybody as removed.
 */
export async function writeSnapshot(
  context: CollectContext,
  sourceId: string,
  stream: SnapshotStream,
  observedAt: Date,
  pages: AsyncIterable<Row[]>,
  safePayload: (row: Row) => unknown,
  upstreamIdOf: (row: Row) => string | null,
): Promise<StreamSummary> {
  const summary = emptySummary(stream.name);
  const writer = await context.evidence.beginSnapshot(stream.stateTable, sourceId, observedAt, { runId: context.runId });
  try {
    for await (const rows of pages) {
      const mapped = mapBatch(rows, stream.map, safePayload, upstreamIdOf);
      await writeBatch(context, sourceId, stream.name, rows.length, mapped, summary, snapshotWrite(writer));
      context.progress.update(stream.name, { records: summary.records });
    }
  } catch (error) {
    await writer.finish({ complete: false });
    throw error;
  }
  const finished = await writer.finish({ complete: true });
  if (finished.removed > 0) summary.notes.push(`${finished.removed} no longer listed by Metabase (recorded as removed)`);
  context.progress.done(stream.name, summary);
  return summary;
}
