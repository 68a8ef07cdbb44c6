// Import of Metabase usage-analytics CSV exports (Enterprise "Usage analytics"
// collection: the Query log, View log and Activity/audit log models, built on the
// v_query_log, v_view_log and v_audit_log views). For instances whose database and API
// are out of reach, or history exported before retention deleted it.
//
// Headers are matched loosely (display names such as "Started At" or column names such
// as started_at). Export *unformatted* (the default "formatted" export renders times in
// the report time zone without an offset). No coverage is claimed: an export may be
// filtered or row-capped, so it proves what happened, never that nothing else did.
import { createReadStream } from 'node:fs';

import { parse } from 'csv-parse';

import { AppError } from '../../errors.js';
import { metabaseSourceId, streams } from '../../store/streams.js';
import type { EventTableName } from '../../store/tables.js';
import type { EventRecord } from '../../store/tables.js';
import type { CollectContext, Mapped, SourceSummary } from '../types.js';
import { metabaseInstance } from './index.js';
import { mapAuditEvent, mapQueryExecution, mapView, plainRow, type Row } from './mapping.js';
import { emptySummary, eventWrite, mapBatch, writeBatch } from './sink.js';

export type MetabaseUsageCsvKind = 'query-log' | 'view-log' | 'audit-log';
export const metabaseUsageCsvKinds: readonly MetabaseUsageCsvKind[] = ['query-log', 'view-log', 'audit-log'];

const BATCH = 2_000;

const normalise = (header: string) =>
  header
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

const pick = (row: Row, ...names: string[]) => {
  for (const name of names) if (row[name] !== undefined && row[name] !== '') return row[name];
  return null;
};
/** The views write user 0 for anonymous / external users. */
const userOf = (value: unknown) => (value === null || value === '0' || value === 0 ? null : value);

interface KindSpec {
  stream: string;
  table: EventTableName;
  required: string[];
  toRow: (csv: Row) => Row;
  map: (row: Row, now: Date) => Mapped<EventRecord>;
}

const kinds: Record<MetabaseUsageCsvKind, KindSpec> = {
  'query-log': {
    stream: streams.metabaseQueryExecutions,
    table: 'metabase_query_execution',
    required: ['started_at'],
    toRow: (csv) => {
      const seconds = pick(csv, 'running_time_seconds');
      return {
        ...csv,
        id: pick(csv, 'entity_id', 'id'),
        started_at: pick(csv, 'started_at'),
        running_time: seconds === null ? pick(csv, 'running_time') : Math.round(Number(seconds) * 1000),
        native: pick(csv, 'is_native', 'native'),
        context: pick(csv, 'query_source', 'context'),
        executor_id: userOf(pick(csv, 'user_id', 'executor_id')),
      };
    },
    map: mapQueryExecution,
  },
  'view-log': {
    stream: streams.metabaseViews,
    table: 'metabase_view',
    required: ['timestamp'],
    toRow: (csv) => ({
      ...csv,
      id: pick(csv, 'id', 'view_id'),
      user_id: userOf(pick(csv, 'user_id')),
      model: pick(csv, 'entity_type', 'model'),
      model_id: pick(csv, 'entity_id', 'model_id'),
    }),
    map: mapView,
  },
  'audit-log': {
    stream: streams.metabaseAuditEvents,
    table: 'metabase_audit_event',
    required: ['timestamp', 'topic'],
    toRow: (csv) => ({
      ...csv,
      id: pick(csv, 'id'),
      user_id: userOf(pick(csv, 'user_id')),
      model: pick(csv, 'entity_type', 'model'),
      model_id: pick(csv, 'entity_id', 'model_id'),
    }),
    map: mapAuditEvent,
  },
};

/** Loads one export into the store, under the configured Metabase instance's source
 *  (METABASE_URL / METABASE_DB_URL), else `options.instance`, else "usage-csv". */
export async function importMetabaseUsageCsv(
  context: CollectContext,
  filePath: string,
  kind: MetabaseUsageCsvKind,
  options: { instance?: string } = {},
): Promise<SourceSummary> {
  const spec = kinds[kind];
  if (!spec)
    throw new AppError('USAGE', `a Metabase usage-analytics export's kind is one of ${metabaseUsageCsvKinds.join(', ')} (got "${kind}")`);
  const configured = context.config.METABASE_URL || context.config.METABASE_DB_URL;
  const instance =
    options.instance ??
    (configured ? metabaseInstance({ apiUrl: context.config.METABASE_URL, dbUrl: context.config.METABASE_DB_URL }) : 'usage-csv');
  const sourceId = metabaseSourceId(instance);
  const existing = await context.store.db.selectFrom('source').select('id').where('id', '=', sourceId).executeTakeFirst();
  if (!existing)
    await context.collection.upsertSource({
      id: sourceId,
      kind: 'metabase',
      displayName: `Metabase ${instance}`,
      settings: { via: 'usage-csv' },
    });

  const summary = emptySummary(spec.stream);
  const parser = createReadStream(filePath).pipe(
    parse({ columns: (headers: string[]) => headers.map(normalise), bom: true, skip_empty_lines: true, relax_column_count: true }),
  );
  let line = 1;
  let pending: Row[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const now = context.now();
    const batch = mapBatch(
      pending,
      (row) => {
        const mapped = spec.map(row, now);
        if (mapped.record && (row['id'] === null || row['id'] === undefined))
          return {
            problems: [...mapped.problems, 'the export has no id column (entity_id / id): cannot be stored without its Metabase id'],
          };
        return mapped;
      },
      (row) => plainRow(row),
      (row) => (row['id'] === null || row['id'] === undefined ? null : String(row['id'])),
    );
    await writeBatch(context, sourceId, spec.stream, pending.length, batch, summary, eventWrite(context, sourceId, spec.table));
    context.progress.update(spec.stream, { records: summary.records });
    pending = [];
  };
  try {
    for await (const record of parser as AsyncIterable<Row>) {
      line += 1;
      if (line === 2) {
        const missing = spec.required.filter((name) => !(name in record));
        if (missing.length)
          throw new AppError('INPUT_INVALID', `${filePath} is not a Metabase ${kind} export: no ${missing.join(', ')} column`);
      }
      pending.push(spec.toRow(record));
      if (pending.length >= BATCH) await flush();
    }
    await flush();
  } catch (error) {
    if (error instanceof AppError) throw error;
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') throw new AppError('INPUT_INVALID', `${filePath} does not exist`);
    throw new AppError('INPUT_INVALID', `${filePath} line ${line}: ${(error as Error).message}`, { cause: error });
  }
  summary.notes.push(`imported from ${filePath}; an export may be filtered or capped, so no coverage is claimed`);
  context.progress.done(spec.stream, summary);
  return { sourceId, kind: 'metabase', streams: [summary] };
}
