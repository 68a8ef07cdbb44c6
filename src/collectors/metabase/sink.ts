// Writing mapped Metabase rows: events through the evidence repository, malformed rows
// to the quarantine (with the reason, never dropped silently), and the running counts a
// StreamSummary reports. Shared by the database reader, the API reader and the CSV import.
import type { SnapshotWriter } from '../../store/evidence.repository.js';
import type { EventRecord, EventTableName, StateRecord } from '../../store/tables.js';
import type { CollectContext, Mapped, StreamSummary } from '../types.js';
import type { Row } from './mapping.js';

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

export async function writeEventBatch(
  context: CollectContext,
  sourceId: string,
  stream: string,
  table: EventTableName,
  rowsRead: number,
  batch: MappedBatch<EventRecord>,
  summary: StreamSummary,
): Promise<void> {
  summary.records += rowsRead;
  if (batch.records.length > 0) {
    const outcome = await context.evidence.writeEvents(table, sourceId, batch.records, { runId: context.runId });
    summary.inserted += outcome.inserted;
    summary.revised += outcome.revised;
    summary.quarantined += outcome.quarantined;
  }
  await quarantineAll(context, sourceId, stream, batch, summary);
}

export async function writeStateBatch(
  context: CollectContext,
  sourceId: string,
  stream: string,
  writer: SnapshotWriter,
  rowsRead: number,
  batch: MappedBatch<StateRecord>,
  summary: StreamSummary,
): Promise<void> {
  summary.records += rowsRead;
  if (batch.records.length > 0) {
    const outcome = await writer.write(batch.records);
    summary.inserted += outcome.inserted;
    summary.quarantined += outcome.quarantined;
  }
  await quarantineAll(context, sourceId, stream, batch, summary);
}
