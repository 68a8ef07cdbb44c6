// Reads Metabase through its REST API (Metabase Cloud, or an instance whose database is
// out of reach): users (`status=all`, paged by limit/offset), groups, memberships, API
// keys, and on Pro/Enterprise the monthly query-execution logs. The API cannot give
// login history, sessions, views or audit events: those are recorded as not available.
import { AppError } from '../../errors.js';
import { capabilities, metabaseApiLimits, streams } from '../../store/streams.js';
import type { CollectContext, CollectOptions, StreamSummary } from '../types.js';
import { mapQueryExecution, plainRow, type Row } from './mapping.js';
import { emptySummary, eventWrite, mapBatch, type SnapshotStream, snapshotStreams, writeBatch, writeSnapshot } from './sink.js';

export const API_PAGE_SIZE = 200;
/** Metabase keeps query_execution 720 days by default (MB_AUDIT_MAX_RETENTION_DAYS). */
const DEFAULT_LOG_MONTHS = 24;

export interface MetabaseApiClient {
  readonly baseUrl: string;
  get<T>(path: string, options?: { allow?: number[] }): Promise<{ status: number; body: T | undefined }>;
}

export function createMetabaseApiClient(baseUrl: string, apiKey: string, signal?: AbortSignal): MetabaseApiClient {
  const root = baseUrl.replace(/\/+$/, '');
  const where = `the Metabase API at ${new URL(root).host} (METABASE_URL)`;
  return {
    baseUrl: root,
    async get<T>(path: string, options: { allow?: number[] } = {}) {
      let response: Response;
      try {
        response = await fetch(`${root}${path}`, {
          headers: { 'X-API-Key': apiKey, accept: 'application/json' },
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        throw new AppError('UPSTREAM_UNAVAILABLE', `cannot reach ${where}: ${cause?.code ?? (error as Error).message}`, { cause: error });
      }
      if (options.allow?.includes(response.status)) {
        await response.body?.cancel();
        return { status: response.status, body: undefined };
      }
      if (response.status === 401)
        throw new AppError('UPSTREAM_AUTH', `${where} refused METABASE_API_KEY (401 Unauthenticated): check the key`);
      if (response.status === 403)
        throw new AppError(
          'UPSTREAM_PERMISSION',
          `${where} forbids ${path.split('?')[0]} to this API key (403): put the key in the Administrators group`,
        );
      if (!response.ok) throw new AppError('UPSTREAM_BAD_RESPONSE', `${where} answered ${response.status} to ${path.split('?')[0]}`);
      const text = await response.text();
      try {
        return { status: response.status, body: JSON.parse(text) as T };
      } catch {
        throw new AppError('UPSTREAM_BAD_RESPONSE', `${where} answered ${path.split('?')[0]} with something that is not JSON`);
      }
    },
  };
}

export interface ApiFacts {
  versionTag: string | null;
  majorVersion: number | null;
  edition: 'oss' | 'enterprise' | null;
  auditApp: boolean | null;
}

/** Version and edition (public endpoint), then a check that the key is accepted. */
export async function readApiFacts(client: MetabaseApiClient): Promise<ApiFacts> {
  const { body } = await client.get<{ version?: { tag?: string }; 'token-features'?: Record<string, boolean> }>('/api/session/properties');
  const tag = body?.version?.tag ?? null;
  const match = tag ? /^v(\d+)\.(\d+)/.exec(tag) : null;
  await client.get('/api/user/current');
  return {
    versionTag: tag,
    majorVersion: match ? Number(match[2]) : null,
    edition: match ? (match[1] === '1' ? 'enterprise' : 'oss') : null,
    auditApp: body?.['token-features']?.['audit_app'] ?? null,
  };
}

const apiOnlyTables = ['login_history', 'core_session', 'auth_identity', 'view_log', 'audit_log'];

export async function recordApiOnlyCapabilities(context: CollectContext, sourceId: string): Promise<void> {
  await context.collection.setCapability(
    sourceId,
    capabilities.metabaseLoginHistory,
    false,
    'login history is only in the application database',
    context.runId,
  );
  for (const table of apiOnlyTables) {
    await context.collection.setCapability(
      sourceId,
      capabilities.metabaseTable(table),
      false,
      `${table} is only in the application database (collected through the API only)`,
      context.runId,
    );
  }
  for (const limit of metabaseApiLimits) {
    await context.collection.setCapability(
      sourceId,
      capabilities.metabaseColumn(limit.table, limit.column),
      limit.available,
      limit.reason,
      context.runId,
    );
  }
}

/** A row of the API as the quarantine names it (every API row carries its id). */
const apiRowId = (row: Row) => (row['id'] === undefined ? null : String(row['id']));

/** One snapshot from pages of API rows (the API's rows hold no secret columns). */
const apiSnapshot = (context: CollectContext, sourceId: string, stream: SnapshotStream, observedAt: Date, pages: AsyncIterable<Row[]>) =>
  writeSnapshot(context, sourceId, stream, observedAt, pages, (row) => plainRow(row), apiRowId);

async function* once(rows: Row[]): AsyncIterable<Row[]> {
  yield rows;
}

async function* userPages(client: MetabaseApiClient): AsyncIterable<Row[]> {
  for (let offset = 0; ; offset += API_PAGE_SIZE) {
    const { body } = await client.get<{ data?: Row[]; total?: number }>(`/api/user?status=all&limit=${API_PAGE_SIZE}&offset=${offset}`);
    const data = body?.data;
    if (!Array.isArray(data)) throw new AppError('UPSTREAM_BAD_RESPONSE', 'the Metabase API answered /api/user without a data list');
    // The API gives no `type`; API-key users are recognised by their @api-key.invalid email.
    if (data.length > 0)
      yield data.map((user) => ({
        ...user,
        login_attributes: user['login_attributes'] === undefined ? undefined : JSON.stringify(user['login_attributes']),
      }));
    if (data.length < API_PAGE_SIZE || (typeof body?.total === 'number' && offset + data.length >= body.total)) return;
  }
}

interface ApiLogCheckpoint {
  /** The month read last (it may have been partial: it is read again). */
  month: string;
  coveredTo: string;
}

const monthKey = (date: Date) => `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
const monthStart = (date: Date) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
const nextMonth = (date: Date) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1));

export async function collectApi(
  context: CollectContext,
  options: CollectOptions,
  client: MetabaseApiClient,
  sourceId: string,
): Promise<StreamSummary[]> {
  const summaries: StreamSummary[] = [];
  const observedAt = context.now();
  const users = await apiSnapshot(context, sourceId, snapshotStreams.accounts, observedAt, userPages(client));
  users.notes.push(
    'from the API: only personal accounts are listed, without type or deactivated_at (API-key service users and the internal user are not listed)',
  );
  summaries.push(users);

  const groups = (await client.get<Row[]>('/api/permissions/group')).body ?? [];
  summaries.push(await apiSnapshot(context, sourceId, snapshotStreams.groups, observedAt, once(groups)));

  const membershipMap = (await client.get<Record<string, Row[]>>('/api/permissions/membership')).body ?? {};
  const memberships = Object.values(membershipMap)
    .flat()
    .map((m) => ({ ...m, id: m['membership_id'] }));
  summaries.push(await apiSnapshot(context, sourceId, snapshotStreams.memberships, observedAt, once(memberships)));

  const keys = await client.get<Row[]>('/api/api-key', { allow: [404] });
  if (keys.status === 404) {
    const summary = emptySummary(snapshotStreams.apiKeys.name);
    summary.notes.push('this Metabase has no API keys endpoint (before v49): not available');
    await context.collection.setCapability(
      sourceId,
      capabilities.metabaseTable('api_key'),
      false,
      'no /api/api-key endpoint (Metabase before v49)',
      context.runId,
    );
    summaries.push(summary);
  } else {
    await context.collection.setCapability(sourceId, capabilities.metabaseTable('api_key'), true, null, context.runId);
    summaries.push(await apiSnapshot(context, sourceId, snapshotStreams.apiKeys, observedAt, once(keys.body ?? [])));
  }

  summaries.push(await collectQueryLogs(context, options, client, sourceId));
  for (const stream of [streams.metabaseLogins, streams.metabaseSessions, streams.metabaseViews, streams.metabaseAuditEvents]) {
    const summary = emptySummary(stream);
    summary.notes.push(
      stream === streams.metabaseLogins
        ? 'login history is only in the application database: not available through the API'
        : 'only in the application database: not available through the API',
    );
    summaries.push(summary);
  }
  return summaries;
}

async function collectQueryLogs(
  context: CollectContext,
  options: CollectOptions,
  client: MetabaseApiClient,
  sourceId: string,
): Promise<StreamSummary> {
  const stream = streams.metabaseQueryExecutions;
  const summary = emptySummary(stream);
  const checkpoint = await context.collection.getCheckpoint<ApiLogCheckpoint>(sourceId, `${stream}:api`);
  const end = options.until && options.until < context.now() ? options.until : context.now();
  const defaultStart = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - DEFAULT_LOG_MONTHS, 1));
  const coverageFrom = checkpoint ? new Date(checkpoint.coveredTo) : (options.since ?? defaultStart);
  let month = monthStart(checkpoint ? new Date(`${checkpoint.month}-01T00:00:00Z`) : coverageFrom);
  let oldest: Date | null = null;
  let readTo = end;
  while (month.getTime() <= end.getTime()) {
    const askedAt = context.now();
    const response = await client.get<Row[]>(`/api/ee/logs/query_execution/${monthKey(month)}`, { allow: [402, 404] });
    if (response.status === 402 || response.status === 404) {
      await context.collection.setCapability(
        sourceId,
        capabilities.metabaseTable('query_execution'),
        false,
        `the query-execution log endpoint answered ${response.status}: it needs Pro/Enterprise (audit-app)`,
        context.runId,
      );
      summary.notes.push(
        `query executions are not available through the API of this edition (${response.status} on /api/ee/logs/query_execution)`,
      );
      return summary;
    }
    const now = context.now();
    const rows = (response.body ?? []).filter((row) => {
      const at = new Date(String(row['started_at']));
      return !(at.getTime() > end.getTime()) && !(at.getTime() < coverageFrom.getTime());
    });
    for (const row of rows) {
      const at = new Date(String(row['started_at']));
      if (!Number.isNaN(at.getTime()) && (!oldest || at < oldest)) oldest = at;
    }
    const mapped = mapBatch(
      rows,
      (row) => mapQueryExecution(row, now),
      (row) => plainRow(row),
      apiRowId,
    );
    await writeBatch(context, sourceId, stream, rows.length, mapped, summary, eventWrite(context, sourceId, 'metabase_query_execution'));
    context.progress.update(stream, {
      records: summary.records,
      window: { from: coverageFrom, to: nextMonth(month) < end ? nextMonth(month) : end },
    });
    readTo = askedAt < end ? askedAt : end;
    await context.collection.saveCheckpoint(
      sourceId,
      `${stream}:api`,
      { month: monthKey(month), coveredTo: coverageFrom.toISOString() } satisfies ApiLogCheckpoint,
      context.runId,
    );
    month = nextMonth(month);
  }
  await context.collection.setCapability(sourceId, capabilities.metabaseTable('query_execution'), true, null, context.runId);
  await context.collection.recordRetention(sourceId, stream, oldest, context.runId);
  if (readTo.getTime() >= coverageFrom.getTime()) {
    const range = { from: coverageFrom, to: readTo };
    await context.collection.addCoverage(sourceId, stream, range, context.runId, { via: 'api', endpoint: '/api/ee/logs/query_execution' });
    summary.coverage.push(range);
  }
  await context.collection.saveCheckpoint(
    sourceId,
    `${stream}:api`,
    { month: monthKey(readTo), coveredTo: readTo.toISOString() } satisfies ApiLogCheckpoint,
    context.runId,
  );
  context.progress.done(stream, summary);
  return summary;
}
