// One collection run, the same for the CLI (`collect`), the API (POST /v1/collections),
// the scheduled jobs and the demo:
// - only configured sources are collected when `all` is asked; a source that is not
//   configured is skipped and the run says so. Naming one source makes its settings
//   required (its collector names the missing one);
// - one source is collected by one process at a time, however many processes share the
//   store (a Postgres advisory lock per source, held on its own connection for the whole
//   run; the embedded store is single-process, so an in-process lock suffices there);
// - one meaning of the outcome: a source `succeeded` when its collector finished,
//   `partial` when some of its streams were stored and covered but another kept failing,
//   `failed` when it stored nothing usable. The run is `succeeded` when every collected
//   source succeeded, `failed` when none stored anything (or no source is configured),
//   else `partial`;
// - the run row is always finished, also when a collector throws or the run is aborted;
// - the current correlation runs afterwards when anything was stored (unless asked not to).
import { type Kysely, sql } from 'kysely';

import { collectEntra, type EntraTuning } from '../collectors/entra/index.js';
import { collectMetabase, metabaseInstance } from '../collectors/metabase/index.js';
import { createCollectContext, type ProgressReporter, type SourceSummary } from '../collectors/types.js';
import type { Config } from '../config.js';
import type { CorrelationResult } from '../correlation/correlate.js';
import { correlateFromConfig, DEFAULT_LOOKBACK_DAYS } from '../correlation/service.js';
import { AppError, isAppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createCollectionRepository } from '../store/collection.repository.js';
import { isStoreConnectionLoss, type Store } from '../store/database.js';
import type { Database } from '../store/schema.js';
import { entraSourceId, metabaseSourceId } from '../store/streams.js';

export type SourceKind = 'entra' | 'metabase';
export type CollectionSource = SourceKind | 'all';
export type RunStatus = 'succeeded' | 'partial' | 'failed';

export interface CollectionRequest {
  source: CollectionSource;
  since?: Date;
  until?: Date;
  /** Who asked: `cli`, `api-key:<id>`, `scheduler`, `demo`; kept on the run row. */
  requestedBy: string;
  /** Run the current correlation afterwards (default true). */
  correlate?: boolean;
  /** A source collected elsewhere: wait for it (true) or skip it (false, the default). */
  waitForLock?: boolean;
  /** The job that asked for this run, kept on the run row (recovery after a crash). */
  jobId?: string;
  /** Entra knobs (the demo and tests run against the emulator). */
  entra?: EntraTuning;
}

export interface SourceOutcome {
  kind: SourceKind;
  sourceId: string | null;
  status: RunStatus | 'skipped';
  /** Why a source was skipped, or what failed. */
  reason: string | null;
  summary: SourceSummary | null;
  /** The error a collector threw (not stored; the CLI shows it as it is). */
  error?: unknown;
}

export interface CollectionRunResult {
  runId: number;
  status: RunStatus;
  sources: SourceOutcome[];
  error: string | null;
  correlation: CorrelationResult | null;
}

/** Told about every finished run (metrics, alerts). */
export interface CollectionObserver {
  runFinished(result: CollectionRunResult): void;
}

export interface CollectionRunDependencies {
  store: Store;
  config: Config;
  logger: Logger;
  now?: () => Date;
  signal?: AbortSignal;
  progress?: ProgressReporter;
  observer?: CollectionObserver;
  /** A source's failure is logged at this level (the CLI prints the error itself: info). */
  failureLogLevel?: 'warn' | 'info';
  /** How often a waiting run tries the lock again (tests shorten it). */
  lockPollMs?: number;
}

export interface PreparedCollection {
  readonly runId: number;
  readonly sources: SourceOutcome[];
  /** Collects, finishes the run row, releases the locks; never rejects for a collector's failure. */
  execute(): Promise<CollectionRunResult>;
}

const KINDS: SourceKind[] = ['entra', 'metabase'];

/** Whether a source's settings are present (not whether they work). */
export function sourceConfigured(config: Config, kind: SourceKind): boolean {
  if (kind === 'entra') return config.AZURE_TENANT_ID !== undefined || config.ENTRA_METABASE_APP_IDS.length > 0;
  return config.METABASE_DB_URL !== undefined || config.METABASE_URL !== undefined;
}

const notConfiguredReason: Record<SourceKind, string> = {
  entra: 'not configured (set AZURE_TENANT_ID and ENTRA_METABASE_APP_IDS)',
  metabase: 'not configured (set METABASE_DB_URL, or METABASE_URL and METABASE_API_KEY)',
};

/** The source id a kind collects into under this configuration, when it can be told. */
export function configuredSourceId(config: Config, kind: SourceKind): string | null {
  try {
    if (kind === 'entra') return config.AZURE_TENANT_ID ? entraSourceId(config.AZURE_TENANT_ID) : null;
    if (!sourceConfigured(config, 'metabase')) return null;
    return metabaseSourceId(metabaseInstance({ dbUrl: config.METABASE_DB_URL, apiUrl: config.METABASE_URL }));
  } catch {
    return null;
  }
}

/** The lock name of a source: its id when known, else its kind (a misconfigured source still gets one). */
const lockName = (kind: SourceKind, sourceId: string | null) => sourceId ?? `kind:${kind}`;

export async function runCollection(deps: CollectionRunDependencies, request: CollectionRequest): Promise<CollectionRunResult> {
  const prepared = await prepareCollection(deps, request);
  return prepared.execute();
}

/** Takes the source locks and creates the run row; `execute` does the work. Throws
 *  CONFLICT (no run row) when every wanted source is being collected elsewhere. */
export async function prepareCollection(deps: CollectionRunDependencies, request: CollectionRequest): Promise<PreparedCollection> {
  const { config, store } = deps;
  const now = deps.now ?? (() => new Date());
  const collection = createCollectionRepository(store.db);
  const wanted = request.source === 'all' ? KINDS : [request.source];
  const sources: SourceOutcome[] = wanted.map((kind) => ({
    kind,
    sourceId: configuredSourceId(config, kind),
    status: 'skipped',
    reason: null,
    summary: null,
  }));
  for (const outcome of sources) {
    if (request.source === 'all' && !sourceConfigured(config, outcome.kind)) outcome.reason = notConfiguredReason[outcome.kind];
  }
  const toCollect = sources.filter((s) => s.reason === null);
  const locks = await acquireSourceLocks(
    store,
    toCollect.map((s) => lockName(s.kind, s.sourceId)),
    {
      wait: request.waitForLock ?? false,
      pollMs: deps.lockPollMs ?? 2_000,
      ...(deps.signal ? { signal: deps.signal } : {}),
    },
  );
  for (const outcome of toCollect) {
    if (locks.busy.includes(lockName(outcome.kind, outcome.sourceId)))
      outcome.reason = 'being collected by another run (one collection per source at a time)';
  }
  if (toCollect.length > 0 && toCollect.every((s) => s.reason !== null)) {
    await locks.release();
    throw new AppError(
      'CONFLICT',
      `${toCollect.map((s) => s.sourceId ?? s.kind).join(' and ')} ${toCollect.length > 1 ? 'are' : 'is'} being collected by another run; wait for it to finish`,
    );
  }

  let runId: number;
  try {
    runId = await collection.startRun('collect', {
      source: request.source,
      ...(request.since ? { since: request.since.toISOString() } : {}),
      ...(request.until ? { until: request.until.toISOString() } : {}),
      requestedBy: request.requestedBy,
      // Recovery reads these: the locks a live run holds, and the job to retry.
      lockNames: toCollect.filter((s) => s.reason === null).map((s) => lockName(s.kind, s.sourceId)),
      ...(request.jobId ? { jobId: request.jobId } : {}),
    });
  } catch (error) {
    await locks.release();
    throw error;
  }

  const execute = async (): Promise<CollectionRunResult> => {
    const logger = deps.logger.child({ collectionRunId: runId });
    const context = createCollectContext({ store, config, logger, runId, collection, now, progress: deps.progress, signal: deps.signal });
    const options = { ...(request.since ? { since: request.since } : {}), ...(request.until ? { until: request.until } : {}) };
    let result: CollectionRunResult;
    try {
      for (const outcome of sources) {
        if (outcome.reason !== null) {
          logger.info({ source: outcome.kind }, `${outcome.kind} skipped: ${outcome.reason}`);
          continue;
        }
        if (deps.signal?.aborted) {
          outcome.status = 'failed';
          outcome.reason = 'the run was stopped before this source';
          continue;
        }
        try {
          outcome.summary =
            outcome.kind === 'entra'
              ? await collectEntra(context, { ...options, ...(request.entra ? { entra: request.entra } : {}) })
              : await collectMetabase(context, options);
          outcome.sourceId = outcome.summary.sourceId;
          outcome.status = 'succeeded';
        } catch (error) {
          // Without the store nothing more can be collected or recorded: stop the run here
          // (the command says so in one line; the next run finishes this row as interrupted).
          if (isStoreConnectionLoss(error)) throw error;
          const message = error instanceof Error ? error.message : String(error);
          // The Entra collector stores and covers every stream it completed and says so.
          const partial = isAppError(error) ? (error.details?.['summaries'] as SourceSummary['streams'] | undefined) : undefined;
          outcome.reason = message;
          outcome.error = error;
          if (partial && partial.length > 0 && outcome.sourceId) {
            outcome.status = 'partial';
            outcome.summary = { sourceId: outcome.sourceId, kind: outcome.kind, streams: partial };
          } else {
            outcome.status = 'failed';
          }
          logger[deps.failureLogLevel ?? 'warn'](
            { source: outcome.kind, code: isAppError(error) ? error.code : undefined },
            `${outcome.kind} collection ${outcome.status}: ${message}`,
          );
        }
      }
      result = { runId, ...judge(sources), sources, correlation: null };
    } catch (error) {
      if (isStoreConnectionLoss(error)) {
        await locks.release().catch(() => undefined);
        throw error;
      }
      // Not a collector's failure: still finish the row.
      result = { runId, status: 'failed', error: error instanceof Error ? error.message : String(error), sources, correlation: null };
    }
    try {
      await collection.finishRun(runId, { status: result.status, summary: runSummary(result), error: result.error });
    } catch (error) {
      logger.error({ err: error }, 'could not record the outcome of the collection');
    } finally {
      await locks.release();
    }
    logger.info({ status: result.status, sources: sources.map((s) => `${s.kind}:${s.status}`) }, `collection ${result.status}`);
    if (request.correlate !== false && result.status !== 'failed' && !deps.signal?.aborted) {
      try {
        result.correlation = await correlateCurrent(store.db, config, now(), logger);
      } catch (error) {
        logger.error({ err: error }, 'correlation after the collection failed');
      }
    }
    deps.observer?.runFinished(result);
    return result;
  };
  return { runId, sources, execute };
}

function judge(sources: SourceOutcome[]): { status: RunStatus; error: string | null } {
  const attempted = sources.filter((s) => s.status !== 'skipped');
  if (attempted.length === 0) {
    const why = sources.map((s) => `${s.kind} ${s.reason}`).join('; ');
    return { status: 'failed', error: `no source is configured: ${why}` };
  }
  const errors = attempted.filter((s) => s.status !== 'succeeded').map((s) => `${s.kind}: ${s.reason}`);
  const error = errors.length > 0 ? errors.join('; ') : null;
  if (attempted.every((s) => s.status === 'succeeded')) return { status: 'succeeded', error };
  if (attempted.every((s) => s.status === 'failed')) return { status: 'failed', error };
  return { status: 'partial', error };
}

/** What the run row keeps: the collected summaries (as before) and every source's outcome. */
function runSummary(result: CollectionRunResult): Record<string, unknown> {
  return {
    sources: result.sources.flatMap((s) => (s.summary ? [s.summary] : [])),
    outcomes: result.sources.map((s) => ({ kind: s.kind, sourceId: s.sourceId, status: s.status, reason: s.reason })),
  };
}

/** The current correlation (the one /v1/findings serves): the last 90 days up to now. */
export async function correlateCurrent(db: Kysely<Database>, config: Config, now: Date, logger?: Logger): Promise<CorrelationResult> {
  const from = new Date(now.getTime() - DEFAULT_LOOKBACK_DAYS * 86_400_000);
  return correlateFromConfig(db, config, { from, to: now, asOf: now }, logger);
}

// ---- locks ---------------------------------------------------------------------------

/** Advisory lock class of source collection (the second key is hashtext(lock name)). */
const LOCK_CLASS = 0x0ac7;

interface HeldLocks {
  busy: string[];
  release(): Promise<void>;
}

/** Embedded stores are single-process: their locks live here, per store. */
const inProcessLocks = new WeakMap<object, Set<string>>();

function localSet(store: Store): Set<string> {
  let set = inProcessLocks.get(store.db);
  if (!set) inProcessLocks.set(store.db, (set = new Set()));
  return set;
}

async function acquireSourceLocks(
  store: Store,
  names: string[],
  options: { wait: boolean; pollMs: number; signal?: AbortSignal },
): Promise<HeldLocks> {
  const sorted = [...new Set(names)].sort();
  if (sorted.length === 0) return { busy: [], release: async () => {} };
  if (store.engine === 'pglite') {
    const local = localSet(store);
    for (;;) {
      const busy = sorted.filter((name) => local.has(name));
      if (busy.length === 0 || !options.wait) {
        const mine = sorted.filter((name) => !busy.includes(name));
        for (const name of mine) local.add(name);
        return { busy, release: async () => void mine.forEach((name) => local.delete(name)) };
      }
      await pause(options.pollMs, options.signal);
    }
  }
  // A session lock lives as long as its connection: hold one for the whole run. A process
  // that dies (SIGKILL included) drops its connection, and Postgres frees the lock.
  const held = await holdConnection(store.db);
  const mine: string[] = [];
  try {
    for (;;) {
      const busy: string[] = [];
      for (const name of sorted) {
        if (mine.includes(name)) continue;
        const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${LOCK_CLASS}, hashtext(${name})) as locked`.execute(
          held.connection,
        );
        if (rows[0]?.locked) mine.push(name);
        else busy.push(name);
      }
      if (busy.length === 0 || !options.wait) {
        return {
          busy,
          async release() {
            try {
              for (const name of mine) await sql`select pg_advisory_unlock(${LOCK_CLASS}, hashtext(${name}))`.execute(held.connection);
            } finally {
              held.release();
            }
          },
        };
      }
      await pause(options.pollMs, options.signal);
    }
  } catch (error) {
    for (const name of mine)
      await sql`select pg_advisory_unlock(${LOCK_CLASS}, hashtext(${name}))`.execute(held.connection).catch(() => undefined);
    held.release();
    throw error;
  }
}

/** Whether any of the named locks is held (by any process). */
export async function anyLockHeld(store: Store, names: string[]): Promise<boolean> {
  if (names.length === 0) return false;
  if (store.engine === 'pglite') return names.some((name) => localSet(store).has(name));
  const probe = await acquireSourceLocks(store, names, { wait: false, pollMs: 0 });
  await probe.release();
  return probe.busy.length > 0;
}

/** Runs `work` while holding a store-wide lock (Postgres: a session advisory lock, waiting
 *  for it; the embedded store is single-process). Used to serialise start-up steps. */
export async function withStoreLock<T>(store: Store, name: string, work: () => Promise<T>): Promise<T> {
  if (store.engine === 'pglite') return work();
  const held = await holdConnection(store.db);
  try {
    await sql`select pg_advisory_lock(${LOCK_CLASS + 1}, hashtext(${name}))`.execute(held.connection);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_CLASS + 1}, hashtext(${name}))`.execute(held.connection).catch(() => undefined);
    }
  } finally {
    held.release();
  }
}

function holdConnection(db: Kysely<Database>): Promise<{ connection: Kysely<Database>; release: () => void }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    db.connection()
      .execute(
        (connection) =>
          new Promise<void>((done) => {
            settled = true;
            resolve({ connection, release: done });
          }),
      )
      .catch((error: unknown) => {
        if (!settled) reject(error);
      });
  });
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      },
      { once: true },
    );
  });
}

// ---- recovery ------------------------------------------------------------------------

export interface InterruptedRun {
  runId: number;
  lockNames: string[];
  jobId: string | null;
  source: CollectionSource;
}

/** Runs left `running` by a process that ended (crash, SIGKILL, power loss): none of
 *  their locks is held any more. They are finished as failed (what they stored and
 *  covered stays; the collectors' checkpoints resume from there) and returned so the
 *  caller can resume them. */
export async function recoverInterruptedRuns(store: Store, logger: Logger): Promise<InterruptedRun[]> {
  const running = await store.db
    .selectFrom('collection_run')
    .select(['id', 'requested'])
    .where('status', '=', 'running')
    .where('kind', '=', 'collect')
    .execute();
  const interrupted: InterruptedRun[] = [];
  for (const row of running) {
    const requested = (typeof row.requested === 'string' ? JSON.parse(row.requested) : (row.requested ?? {})) as Record<string, unknown>;
    const lockNames = Array.isArray(requested['lockNames']) ? (requested['lockNames'] as string[]) : [];
    if (await anyLockHeld(store, lockNames)) continue;
    const updated = await store.db
      .updateTable('collection_run')
      .set({
        status: 'failed',
        finished_at: new Date(),
        error:
          'interrupted: the process running it ended before it finished (what it stored and covered is kept; the next collection resumes from the checkpoints)',
      })
      .where('id', '=', row.id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) continue;
    logger.warn({ collectionRunId: row.id }, 'collection run was interrupted by a crash or restart; resuming it');
    const source = requested['source'];
    interrupted.push({
      runId: row.id,
      lockNames,
      jobId: typeof requested['jobId'] === 'string' ? requested['jobId'] : null,
      source: source === 'entra' || source === 'metabase' ? source : 'all',
    });
  }
  return interrupted;
}
