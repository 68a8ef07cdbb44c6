// The Entra collector: sign-ins to the Metabase app(s), directory audits and directory
// state, from Microsoft Graph into the evidence store. See docs/entra.md.
import { requireSetting } from '../../config.js';
import { AppError } from '../../errors.js';
import { entraSourceId } from '../../store/streams.js';
import type { CollectContext, CollectOptions, SourceSummary, StreamSummary } from '../types.js';
import { collectDirectory } from './directory.js';
import { createGraphConnection } from './graph-client.js';
import {
  collectDirectoryAudits,
  collectSignIns,
  defaultWindowPolicy,
  type LogStreamDeps,
  StreamIncomplete,
  type WindowPolicy,
} from './log-streams.js';
import { createPacer, type PacerLimit } from './pacer.js';
import { createRequester, defaultRetryPolicy, type RetryPolicy } from './requester.js';

/** Knobs for tests, the demo and the benchmark; production uses the defaults. */
export interface EntraTuning {
  /** Extra CA (PEM) to trust for the token authority and Graph (a local emulator). */
  tlsCa?: string;
  /** Pacing of the reporting endpoints; null = none. Default: ENTRA_REPORTING_REQUESTS_PER_10S per 10 s. */
  reportingLimit?: PacerLimit | null;
  retry?: Partial<RetryPolicy>;
  windows?: Partial<WindowPolicy>;
  requestTimeoutMs?: number;
}

export type EntraCollectOptions = CollectOptions & { entra?: EntraTuning };

export async function collectEntra(context: CollectContext, options: EntraCollectOptions = {}): Promise<SourceSummary> {
  const { config } = context;
  const metabaseAppIds = requireSetting(
    config,
    'ENTRA_METABASE_APP_IDS',
    'the appId(s) of the Entra application Metabase signs users in with',
  );
  const tenantId = requireSetting(config, 'AZURE_TENANT_ID', 'the Entra tenant to collect from');
  if (options.since && options.until && options.since.getTime() >= options.until.getTime()) {
    throw new AppError(
      'USAGE',
      `the collection's start (since, ${options.since.toISOString()}) must be earlier than its end (until, ${options.until.toISOString()})`,
    );
  }
  const tuning = options.entra ?? {};
  const sourceId = entraSourceId(tenantId);
  await context.collection.upsertSource({
    id: sourceId,
    kind: 'entra',
    displayName: `Entra ID tenant ${tenantId}`,
    settings: {
      tenantId,
      metabaseAppIds,
      adminGroupIds: config.ENTRA_ADMIN_GROUP_IDS,
      collectorClientId: config.AZURE_CLIENT_ID ?? null,
      authorityHost: config.AZURE_AUTHORITY_HOST,
      graphBaseUrl: config.GRAPH_BASE_URL,
      logRetentionDays: config.ENTRA_LOG_RETENTION_DAYS,
    },
  });

  const connection = createGraphConnection(config, {
    ...(tuning.tlsCa ? { tlsCa: tuning.tlsCa } : {}),
    ...(tuning.requestTimeoutMs ? { requestTimeoutMs: tuning.requestTimeoutMs } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
  });
  // Reporting APIs allow 5 requests per 10 s per app and tenant (spec §4.5).
  const limit =
    tuning.reportingLimit === undefined ? { requests: config.ENTRA_REPORTING_REQUESTS_PER_10S, windowMs: 10_000 } : tuning.reportingLimit;
  const requester = createRequester({
    connection,
    pacer: createPacer(limit),
    retry: { ...defaultRetryPolicy, ...tuning.retry },
    authorityHost: config.AZURE_AUTHORITY_HOST,
    logger: context.logger,
    ...(context.signal ? { signal: context.signal } : {}),
  });
  const logDeps: LogStreamDeps = {
    context,
    sourceId,
    requester,
    graphOrigin: connection.origin,
    policy: { ...defaultWindowPolicy, ...tuning.windows },
    retentionDays: config.ENTRA_LOG_RETENTION_DAYS,
    ...(options.since ? { since: options.since } : {}),
    ...(options.until ? { until: options.until } : {}),
  };

  const summaries: StreamSummary[] = [];
  const failures: string[] = [];
  const runStream = async (run: () => Promise<StreamSummary>) => {
    try {
      summaries.push(await run());
    } catch (error) {
      if (!(error instanceof StreamIncomplete)) throw error;
      failures.push(error.message);
    }
  };
  try {
    // Sign-ins first: a credential, licence or permission problem shows before anything
    // else is written.
    await runStream(() => collectSignIns(logDeps, metabaseAppIds));
    await runStream(() => collectDirectoryAudits(logDeps));
    const directory = await collectDirectory({
      context,
      sourceId,
      requester,
      graphOrigin: connection.origin,
      observedAt: context.now(),
      metabaseAppIds,
      collectorClientId: config.AZURE_CLIENT_ID,
      adminGroupIds: config.ENTRA_ADMIN_GROUP_IDS,
    });
    summaries.push(...directory.summaries);
    failures.push(...directory.failures);
  } finally {
    connection.close();
  }
  context.logger.debug({ requests: requester.stats }, 'entra collection requests');
  if (failures.length > 0) {
    // Everything complete is stored and covered; the rest is retried by the next run.
    throw new AppError('UPSTREAM_UNAVAILABLE', `Entra collection incomplete (Graph kept failing): ${failures.join('; ')}`, {
      details: { summaries },
    });
  }
  return { sourceId, kind: 'entra', streams: summaries };
}
