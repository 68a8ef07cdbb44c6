// Durable jobs in the store's own database (pg-boss 10, schema `accesstrail_jobs`), so
// the schedule, queued work and retries survive restarts and are shared by every
// `serve` on the store:
//
//   collect-due  cron ACCESSTRAIL_COLLECT_SCHEDULE (pg-boss sends one per tick however
//                many processes run), and once at start: one `collect` job per configured source
//   collect      one source; queue policy `stately` keyed by source (one queued, one
//                active), and the collection run's advisory lock (also against the CLI)
//   correlate    after each collection: the current findings
//   reports      after each correlation and every watch: the closed quarters' reports
//   watch        every 15 min: resume runs cut off by a crash, retention guard
//   webhook      one delivery, retried with backoff
//   archive      daily at 03:30 UTC when ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS is set:
//                monthly partitions past the retention, outside every report's period,
//                to archive files, then detached and dropped (evidence-retention.ts)
//
// Every handler reads the clock through `now`, so tests move time (quarter close,
// settle delay, retention) without waiting.
import { CompiledQuery } from 'kysely';
import PgBoss from 'pg-boss';

import type { EntraTuning } from '../collectors/entra/index.js';
import type { Config } from '../config.js';
import { AppError, isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/database.js';
import { describeFreshness, readFreshness, type StreamFreshness } from '../store/freshness.repository.js';
import { intervalToCron } from './collection-interval.js';
import {
  correlateCurrent,
  recoverInterruptedRuns,
  runCollection,
  sourceConfigured,
  type SourceKind,
  withStoreLock,
} from './collection-run.js';
import { runEvidenceArchive } from './evidence-retention.js';
import type { ServiceMetrics } from './metrics.js';
import { buildDueReports } from './quarterly-reports.js';
import { deliverWebhook, type WebhookEvent, webhookEvent, type WebhookEventType } from './webhook.js';

export const JOB_SCHEMA = 'accesstrail_jobs';
export const QUEUES = {
  collectDue: 'collect-due',
  collect: 'collect',
  correlate: 'correlate',
  reports: 'reports',
  watch: 'watch',
  webhook: 'webhook',
  archive: 'archive',
} as const;
/** Each queue's pg-boss options: its policy, retries (with backoff) and how long one job
 *  may run before pg-boss expires it. Created in this order at start. */
const QUEUE_OPTIONS: Record<keyof typeof QUEUES, Omit<PgBoss.Queue, 'name'>> = {
  // Collections can take hours (a first Entra backfill at 5 requests per 10 s).
  collect: { policy: 'stately', retryLimit: 5, retryDelay: 60, retryBackoff: true, expireInSeconds: 12 * 3600 },
  collectDue: { policy: 'short', retryLimit: 3, retryDelay: 30 },
  correlate: { policy: 'short', retryLimit: 3, retryDelay: 60, retryBackoff: true, expireInSeconds: 3600 },
  reports: { policy: 'short', retryLimit: 5, retryDelay: 300, retryBackoff: true, expireInSeconds: 3600 },
  watch: { policy: 'short', retryLimit: 1, retryDelay: 60 },
  // About a day of attempts: 30 s, 1 min, 2 min, … (pg-boss caps each delay at 1 h).
  webhook: { policy: 'standard', retryLimit: 12, retryDelay: 30, retryBackoff: true, expireInSeconds: 120 },
  // A month of a large tenant takes a while to write; one at a time (the run also holds a
  // store lock), retried an hour later when it failed.
  archive: { policy: 'short', retryLimit: 3, retryDelay: 3600, expireInSeconds: 6 * 3600 },
};
const WATCH_CRON = '*/15 * * * *';
/** Daily, at a quiet hour: the archive run locks each partition's table for its drop. */
export const ARCHIVE_CRON = '30 3 * * *';
export const DEFAULT_COLLECT_SCHEDULE = '0 * * * *';

export interface JobSystemDependencies {
  store: Store;
  config: Config;
  logger: Logger;
  now?: () => Date;
  metrics?: ServiceMetrics;
  /** Entra knobs (tests against the emulator). */
  entra?: EntraTuning;
  /** How often idle workers look for jobs (default 2 s). */
  pollingIntervalSeconds?: number;
  /** Register the cron schedules (default true; tests that drive the clock send jobs instead). */
  schedule?: boolean;
  /** Queue a collection at start (default true). */
  collectAtStart?: boolean;
}

export interface JobSystem {
  start(): Promise<void>;
  /** Aborts a collection under way (its job is retried by the next process) and stops. */
  stop(): Promise<void>;
  send(queue: (typeof QUEUES)[keyof typeof QUEUES], data?: object, options?: PgBoss.SendOptions): Promise<string | null>;
  /** Jobs waiting per queue (created or retry). */
  queueDepths(): Promise<Record<string, number>>;
  /** The cron expression in force, or null when scheduled collection is off. */
  readonly collectSchedule: string | null;
  /** The webhook call sites share this (API-started collections too). */
  notify(type: WebhookEventType, data: Record<string, unknown>, dedupe?: { key: string; seconds: number }): Promise<void>;
  /** After a collection started elsewhere (the API): correlate through the queue. */
  afterCollection(): Promise<void>;
  readonly boss: PgBoss;
}

/** pg-boss over the store's own Kysely connection: one pool on Postgres, and on the
 *  embedded store the same mutex as every other query (PGlite has one connection). */
function bossDatabase(store: Store): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[] = []) {
      const result = await store.db.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}

export function collectScheduleOf(config: Config): string | null {
  if (config.ACCESSTRAIL_COLLECT_SCHEDULE === 'off') return null;
  if (config.ACCESSTRAIL_COLLECT_SCHEDULE) return config.ACCESSTRAIL_COLLECT_SCHEDULE;
  if (config.ACCESSTRAIL_COLLECT_INTERVAL_MINUTES !== undefined) return intervalToCron(config.ACCESSTRAIL_COLLECT_INTERVAL_MINUTES);
  return DEFAULT_COLLECT_SCHEDULE;
}

export function createJobSystem(deps: JobSystemDependencies): JobSystem {
  const { store, config } = deps;
  const logger = deps.logger.child({ component: 'jobs' });
  const now = deps.now ?? (() => new Date());
  const collectSchedule = collectScheduleOf(config);
  const stopping = new AbortController();
  const boss = new PgBoss({
    db: bossDatabase(store),
    schema: JOB_SCHEMA,
    // Completed jobs are history, not evidence: keep a week.
    deleteAfterDays: 7,
  });
  boss.on('error', (error: Error) => logger.warn({ err: error }, 'job queue error'));
  const work = { pollingIntervalSeconds: deps.pollingIntervalSeconds ?? 2, batchSize: 1 };

  async function send(queue: string, data: object = {}, options: PgBoss.SendOptions = {}) {
    return boss.send(queue, data, options);
  }

  async function notify(type: WebhookEventType, data: Record<string, unknown>, dedupe?: { key: string; seconds: number }) {
    if (!config.ACCESSTRAIL_WEBHOOK_URL) return;
    const event = webhookEvent(type, data, now());
    await send(QUEUES.webhook, { event }, dedupe ? { singletonKey: dedupe.key, singletonSeconds: dedupe.seconds } : {});
  }

  async function collectDue() {
    const kinds = (['entra', 'metabase'] as SourceKind[]).filter((kind) => sourceConfigured(config, kind));
    if (kinds.length === 0)
      logger.warn(
        'scheduled collection: no source is configured (set AZURE_TENANT_ID and ENTRA_METABASE_APP_IDS, or METABASE_DB_URL / METABASE_URL)',
      );
    for (const kind of kinds) await send(QUEUES.collect, { source: kind }, { singletonKey: kind });
  }

  async function collect(job: PgBoss.Job<{ source: SourceKind; resumeOf?: number }>) {
    const source = job.data.source;
    let result;
    try {
      result = await runCollection(
        { store, config, logger, now, signal: stopping.signal, ...(deps.metrics ? { observer: deps.metrics } : {}) },
        {
          source,
          requestedBy: job.data.resumeOf ? `scheduler (resumes run ${job.data.resumeOf})` : 'scheduler',
          correlate: false,
          jobId: job.id,
          ...(deps.entra ? { entra: deps.entra } : {}),
        },
      );
    } catch (error) {
      if (isAppError(error) && error.code === 'CONFLICT') {
        logger.info({ source }, `scheduled collection skipped: ${error.message}`);
        return { skipped: error.message };
      }
      throw error;
    }
    // Cut off by a stop: fail the job so that the next process retries it.
    if (stopping.signal.aborted)
      throw new AppError('UPSTREAM_UNAVAILABLE', `collection of ${source} stopped with the service; retried at the next start`);
    if (result.status !== 'failed') await send(QUEUES.correlate);
    await checkFailures(source);
    await guardRetention();
    return { runId: result.runId, status: result.status };
  }

  /** Tells the webhook once when a source's collections have failed N times in a row. */
  async function checkFailures(kind: SourceKind) {
    const threshold = config.ACCESSTRAIL_ALERT_AFTER_FAILURES;
    const runs = await store.db
      .selectFrom('collection_run')
      .select(['id', 'summary', 'error'])
      .where('kind', '=', 'collect')
      .where('status', '!=', 'running')
      .orderBy('id', 'desc')
      .limit(200)
      .execute();
    let consecutive = 0;
    let lastError: string | null = null;
    for (const run of runs) {
      const summary = (typeof run.summary === 'string' ? JSON.parse(run.summary) : run.summary) as {
        outcomes?: { kind: string; status: string; reason: string | null; sourceId: string | null }[];
      };
      const outcome = summary?.outcomes?.find((o) => o.kind === kind && o.status !== 'skipped');
      if (!outcome) continue;
      if (outcome.status !== 'failed') break;
      consecutive++;
      lastError ??= outcome.reason;
    }
    if (consecutive > 0)
      logger.warn({ source: kind, consecutive }, `collections of ${kind} failed ${consecutive} time(s) in a row: ${lastError}`);
    if (consecutive === threshold) await notify('collection.failing', { source: kind, consecutiveFailures: consecutive, lastError });
  }

  /** The retention guard: warn before Entra deletes what was not archived yet. */
  async function guardRetention(): Promise<StreamFreshness[]> {
    const freshness = await readFreshness(store.db, { now: now(), entraRetentionDays: config.ENTRA_LOG_RETENTION_DAYS });
    for (const f of freshness) {
      if (f.status === 'fresh') continue;
      logger.warn(
        { source: f.sourceId, stream: f.stream, status: f.status, expiresAt: f.expiresAt, daysLeft: f.daysLeft },
        describeFreshness(f),
      );
      const type = f.status === 'lost' ? 'evidence.lost' : 'evidence.expiring';
      // At most twice a day per stream and state (pg-boss throttles up to 12 h), not at every check.
      await notify(
        type,
        {
          sourceId: f.sourceId,
          stream: f.stream,
          lastCoveredTo: f.lastCoveredTo.toISOString(),
          expiresAt: f.expiresAt?.toISOString() ?? null,
          daysLeft: f.daysLeft,
          retentionDays: f.retentionDays,
          message: describeFreshness(f),
        },
        { key: `${type} ${f.sourceId} ${f.stream}`, seconds: 43_200 },
      );
    }
    return freshness;
  }

  async function correlate() {
    const result = await correlateCurrent(store.db, config, now(), logger);
    await send(QUEUES.reports);
    return { correlationRunId: result.runId, findings: result.findings.length };
  }

  async function reports() {
    const created = await buildDueReports({ db: store.db, config, logger, now });
    for (const report of created) {
      await notify('report.ready', {
        reportId: report.reportId,
        framework: report.model.framework,
        period: report.model.period,
        contentSha256: report.contentSha256,
        findings: report.model.findings.length,
        location: `/v1/reports/${report.reportId}`,
      });
    }
    return { reports: created.map((r) => r.reportId) };
  }

  /** Runs cut off by a crash or SIGKILL: their job is cancelled and sent again (it resumes from the checkpoints). */
  async function resumeInterrupted() {
    for (const run of await recoverInterruptedRuns(store, logger)) {
      if (run.jobId) await boss.cancel(QUEUES.collect, run.jobId).catch(() => undefined);
      const kinds = new Set<SourceKind>();
      for (const name of run.lockNames) {
        const kind = name.startsWith('kind:') ? name.slice(5) : name.split(':')[0];
        if (kind === 'entra' || kind === 'metabase') kinds.add(kind);
      }
      if (kinds.size === 0 && run.source !== 'all') kinds.add(run.source);
      for (const kind of kinds) await send(QUEUES.collect, { source: kind, resumeOf: run.runId }, { singletonKey: kind });
    }
  }

  async function watch() {
    await resumeInterrupted();
    await guardRetention();
    await send(QUEUES.reports);
  }

  async function archive() {
    const run = await runEvidenceArchive({ store, config, logger, now });
    if (!run) return { skipped: 'ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS is not set: evidence is kept forever' };
    return {
      horizon: run.horizon.toISOString(),
      archived: run.archived.map((a) => ({ partition: a.name, rows: a.rows, file: a.file, sha256: a.sha256 })),
      deferred: run.deferred,
    };
  }

  async function webhook(job: PgBoss.Job<{ event: WebhookEvent }>) {
    if (!config.ACCESSTRAIL_WEBHOOK_URL || !config.ACCESSTRAIL_WEBHOOK_SECRET) return { skipped: 'no webhook configured' };
    const status = await deliverWebhook(
      { url: config.ACCESSTRAIL_WEBHOOK_URL, secret: config.ACCESSTRAIL_WEBHOOK_SECRET },
      job.data.event,
      now(),
    );
    return { status };
  }

  const handle =
    <T>(name: string, run: (job: PgBoss.Job<T>) => Promise<unknown>) =>
    async ([job]: PgBoss.Job<T>[]) => {
      if (!job) return;
      try {
        return await run(job);
      } catch (error) {
        logger.warn({ queue: name, jobId: job.id, err: error }, `job ${name} failed: ${(error as Error).message}`);
        throw error;
      }
    };

  return {
    boss,
    collectSchedule,
    send,
    notify,
    async afterCollection() {
      await send(QUEUES.correlate);
    },
    async start() {
      // pg-boss installs its schema and each queue's partition on first start; two
      // processes starting at once on a new store would race on that DDL (duplicate key
      // on pg_namespace, deadlocks): one process at a time, until its queues exist.
      await withStoreLock(store, 'pg-boss start', async () => {
        await boss.start();
        for (const [queue, options] of Object.entries(QUEUE_OPTIONS) as [keyof typeof QUEUES, Omit<PgBoss.Queue, 'name'>][]) {
          await boss.createQueue(QUEUES[queue], { name: QUEUES[queue], ...options });
        }
      });

      // Before the workers: a run a crashed process left behind is resumed first.
      await resumeInterrupted();
      await boss.work(QUEUES.collectDue, work, handle(QUEUES.collectDue, collectDue));
      await boss.work(QUEUES.collect, work, handle(QUEUES.collect, collect));
      await boss.work(QUEUES.correlate, work, handle(QUEUES.correlate, correlate));
      await boss.work(QUEUES.reports, work, handle(QUEUES.reports, reports));
      await boss.work(QUEUES.watch, work, handle(QUEUES.watch, watch));
      await boss.work(QUEUES.webhook, work, handle(QUEUES.webhook, webhook));
      await boss.work(QUEUES.archive, work, handle(QUEUES.archive, archive));

      if (deps.schedule !== false) {
        // Schedules live in the store: the last process to start sets them for all.
        if (collectSchedule) await boss.schedule(QUEUES.collectDue, collectSchedule, {}, { tz: 'UTC' });
        else await boss.unschedule(QUEUES.collectDue);
        await boss.schedule(QUEUES.watch, WATCH_CRON, {}, { tz: 'UTC' });
        if (config.ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS !== undefined)
          await boss.schedule(QUEUES.archive, ARCHIVE_CRON, {}, { tz: 'UTC' });
        else await boss.unschedule(QUEUES.archive);
      }
      if (deps.collectAtStart !== false && collectSchedule) {
        // One catch-up collection per hour however many processes start (pg-boss throttles by slot).
        await send(QUEUES.collectDue, {}, { singletonKey: 'start', singletonSeconds: 3600 });
      }
      logger.info(
        { schedule: collectSchedule ?? 'off' },
        collectSchedule ? `scheduled collection: ${collectSchedule} (UTC)` : 'scheduled collection is off',
      );
    },
    async stop() {
      stopping.abort(new AppError('UPSTREAM_UNAVAILABLE', 'the service is stopping'));
      await boss.stop({ graceful: true, wait: true, timeout: 30_000 });
    },
    async queueDepths() {
      const depths: Record<string, number> = {};
      for (const queue of Object.values(QUEUES)) depths[queue] = await boss.getQueueSize(queue);
      return depths;
    },
  };
}
