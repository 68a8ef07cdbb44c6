// Collections started over HTTP or by the scheduler. The request only creates the
// collection_run row; the work runs in the background and records its outcome on the
// row, which GET /v1/collections/{id} reads. At most one collection runs at a time in
// this process: two concurrent runs would race on the same checkpoints.
import { collectEntra } from '../collectors/entra/index.js';
import { collectMetabase } from '../collectors/metabase/index.js';
import { silentProgress, type CollectContext, type CollectOptions, type SourceSummary } from '../collectors/types.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createCollectionRepository } from '../store/collection.repository.js';
import type { Store } from '../store/database.js';
import { createEvidenceRepository } from '../store/evidence.repository.js';

export type CollectionSource = 'entra' | 'metabase' | 'all';

export interface CollectionRequest {
  source: CollectionSource;
  since?: Date;
  until?: Date;
  /** Who asked (API key id or "scheduler"), kept on the run row. */
  requestedBy: string;
}

export interface CollectionRunner {
  /** Creates the run row and starts the work; resolves with the run id at once. */
  start(request: CollectionRequest): Promise<number>;
  /** True while a collection started here is under way. */
  busy(): boolean;
  /** Aborts the run under way and waits for it to record its outcome. */
  close(): Promise<void>;
}

export interface CollectionRunnerDependencies {
  store: Store;
  config: Config;
  logger: Logger;
  now?: () => Date;
}

export function createCollectionRunner(deps: CollectionRunnerDependencies): CollectionRunner {
  const collection = createCollectionRepository(deps.store.db);
  let current: { promise: Promise<void>; abort: AbortController } | undefined;

  async function run(runId: number, request: CollectionRequest, signal: AbortSignal): Promise<void> {
    const logger = deps.logger.child({ collectionRunId: runId });
    const context: CollectContext = {
      store: deps.store,
      config: deps.config,
      logger,
      runId,
      evidence: createEvidenceRepository(deps.store.db),
      collection,
      progress: silentProgress,
      now: deps.now ?? (() => new Date()),
      signal,
    };
    const options: CollectOptions = { ...(request.since ? { since: request.since } : {}), ...(request.until ? { until: request.until } : {}) };
    const summaries: SourceSummary[] = [];
    try {
      if (request.source !== 'metabase') summaries.push(await collectEntra(context, options));
      if (request.source !== 'entra') summaries.push(await collectMetabase(context, options));
      await collection.finishRun(runId, { status: 'succeeded', summary: { sources: summaries } });
      logger.info({ sources: summaries.map((s) => s.sourceId) }, 'collection succeeded');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ code: (error as { code?: string }).code }, `collection failed: ${message}`);
      await collection.finishRun(runId, { status: summaries.length > 0 ? 'partial' : 'failed', summary: { sources: summaries }, error: message }).catch((finishError: unknown) => {
        logger.error({ err: finishError }, 'could not record the outcome of the collection');
      });
    }
  }

  return {
    async start(request) {
      if (current) throw new AppError('CONFLICT', 'a collection is already running in this service; wait for it to finish');
      const abort = new AbortController();
      // Claim the slot before the first await so two requests cannot both start.
      const slot: { promise: Promise<void>; abort: AbortController } = { promise: Promise.resolve(), abort };
      current = slot;
      let runId: number;
      try {
        runId = await collection.startRun('collect', {
          source: request.source,
          ...(request.since ? { since: request.since.toISOString() } : {}),
          ...(request.until ? { until: request.until.toISOString() } : {}),
          requestedBy: request.requestedBy,
        });
      } catch (error) {
        current = undefined;
        throw error;
      }
      slot.promise = run(runId, request, abort.signal).finally(() => {
        if (current === slot) current = undefined;
      });
      return runId;
    },
    busy: () => current !== undefined,
    async close() {
      const running = current;
      if (!running) return;
      running.abort.abort();
      await running.promise;
    },
  };
}
