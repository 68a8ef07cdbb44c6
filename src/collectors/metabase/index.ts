// The Metabase collector: from the application database (METABASE_DB_URL, preferred:
// it alone holds login history, sessions and, on OSS, the raw logs), from the REST API
// (METABASE_URL + METABASE_API_KEY, for Metabase Cloud), or both (the API then only
// adds version and edition facts and is checked to work).
//
// Source id: `metabase:<instance>`, where instance is the API URL's host (and path, when
// Metabase is served under one) when METABASE_URL is set, else `<db host:port>/<database>`.
import { AppError } from '../../errors.js';
import { retentionFacts } from '../../store/metabase-retention.js';
import { metabaseSourceId } from '../../store/streams.js';
import type { CollectContext, CollectOptions, SourceSummary } from '../types.js';
import { type ApiFacts, collectApi, createMetabaseApiClient, readApiFacts, recordApiOnlyCapabilities } from './api-reader.js';
import { openAppDb } from './app-db.js';
import { collectDbSnapshots, collectDbStreams, type DbReadTuning, discover, recordCapabilities } from './db-reader.js';

export const DEFAULT_BATCH_ROWS = 5_000;

/** The instance name behind the source id (see the header). */
export function metabaseInstance(settings: { dbUrl?: string | undefined; apiUrl?: string | undefined }): string {
  if (settings.apiUrl) {
    const url = new URL(settings.apiUrl);
    const path = url.pathname.replace(/\/+$/, '');
    return `${url.host}${path}`;
  }
  if (settings.dbUrl) {
    const url = new URL(settings.dbUrl);
    return `${url.host}${url.pathname.replace(/\/+$/, '')}`;
  }
  throw new AppError('CONFIG_INVALID', 'METABASE_DB_URL or METABASE_URL is not set (needed to collect from Metabase)');
}

export async function collectMetabase(context: CollectContext, options: CollectOptions): Promise<SourceSummary> {
  return collectMetabaseWith(context, options, { batchRows: DEFAULT_BATCH_ROWS });
}

/** As collectMetabase, with the read batch size exposed (tests use small batches). */
export async function collectMetabaseWith(context: CollectContext, options: CollectOptions, tuning: DbReadTuning): Promise<SourceSummary> {
  const { config } = context;
  const dbUrl = config.METABASE_DB_URL;
  const apiUrl = config.METABASE_URL;
  if (!dbUrl && !apiUrl)
    throw new AppError('CONFIG_INVALID', 'METABASE_DB_URL or METABASE_URL is not set (needed to collect from Metabase)');
  if (apiUrl && !config.METABASE_API_KEY) throw new AppError('CONFIG_INVALID', 'METABASE_API_KEY is not set (needed with METABASE_URL)');
  if (options.since && options.until && options.since > options.until)
    throw new AppError(
      'USAGE',
      `the collection's start (since, ${options.since.toISOString()}) is after its end (until, ${options.until.toISOString()})`,
    );
  const instance = metabaseInstance({ dbUrl, apiUrl });
  const sourceId = metabaseSourceId(instance);

  let facts: ApiFacts | null = null;
  const client = apiUrl ? createMetabaseApiClient(apiUrl, config.METABASE_API_KEY!, context.signal) : null;
  if (client) facts = await readApiFacts(client);
  const apiSettings = facts
    ? { apiHost: new URL(apiUrl!).host, versionTag: facts.versionTag, edition: facts.edition, auditApp: facts.auditApp }
    : {};

  if (!dbUrl) {
    await context.collection.upsertSource({
      id: sourceId,
      kind: 'metabase',
      displayName: `Metabase ${instance}`,
      // Through the API the instance's first activity is unknown (no database): truncation is judged conservatively.
      settings: {
        via: 'api',
        ...apiSettings,
        retention: retentionFacts({
          fromConfig: config.METABASE_AUDIT_MAX_RETENTION_DAYS,
          fromSettingTable: null,
          auditApp: facts!.auditApp,
          firstActivityAt: null,
          observedAt: context.now(),
        }),
      },
    });
    await recordApiOnlyCapabilities(context, sourceId);
    const streams = await collectApi(context, options, client!, sourceId);
    return { sourceId, kind: 'metabase', streams };
  }

  const db = await openAppDb(dbUrl);
  try {
    const discovery = await discover(db);
    const tables = Object.fromEntries([...discovery.tables.keys()].map((t) => [t, true]).concat(discovery.missing.map((t) => [t, false])));
    await context.collection.upsertSource({
      id: sourceId,
      kind: 'metabase',
      displayName: `Metabase ${instance}`,
      settings: {
        via: client ? 'database+api' : 'database',
        database: db.location,
        dialect: db.dialect,
        changesetVersion: discovery.changesetVersion,
        inferredVersion: discovery.inferredVersion,
        tables,
        ...apiSettings,
        settingTableReadable: discovery.settingReadable,
        retention: retentionFacts({
          fromConfig: config.METABASE_AUDIT_MAX_RETENTION_DAYS,
          fromSettingTable: discovery.retentionSetting,
          auditApp: facts?.auditApp ?? null,
          firstActivityAt: discovery.firstActivityAt,
          observedAt: context.now(),
        }),
      },
    });
    await recordCapabilities(context, sourceId, discovery);
    const read = { db, sourceId, discovery, tuning };
    const streams = await collectDbStreams(context, options, read);
    const snapshots = await collectDbSnapshots(context, read);
    return { sourceId, kind: 'metabase', streams: [...streams, ...snapshots] };
  } finally {
    await db.close().catch(() => undefined);
  }
}
