// Collections started over HTTP. The request takes the source locks and creates the
// collection_run row (the one collection run of src/collectors/run.ts); the work runs in
// the background and records its outcome on the row, which GET /v1/collections/{id}
// reads. A source already being collected (here, by another `serve` or by the CLI) is
// answered 409 CONFLICT.
import type { Config } from '../config.js';
import { type CollectionObserver, type CollectionRequest, prepareCollection } from '../jobs/collection-run.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/database.js';

export type { CollectionSource } from '../jobs/collection-run.js';
export type { CollectionRequest };

export interface CollectionRunner {
  /** Takes the locks, creates the run row and starts the work; resolves with the run id at once. */
  start(request: CollectionRequest): Promise<number>;
  /** True while a collection started here is under way. */
  busy(): boolean;
  /** Aborts the runs under way and waits for them to record their outcome. */
  close(): Promise<void>;
}

export interface CollectionRunnerDependencies {
  store: Store;
  config: Config;
  logger: Logger;
  now?: () => Date;
  observer?: CollectionObserver;
  /** Called after each run finished (the job queue follows it with a correlation). */
  afterRun?: (runId: number) => Promise<void>;
}

export function createCollectionRunner(deps: CollectionRunnerDependencies): CollectionRunner {
  const running = new Set<{ promise: Promise<void>; abort: AbortController }>();
  return {
    async start(request) {
      const abort = new AbortController();
      const prepared = await prepareCollection(
        {
          store: deps.store,
          config: deps.config,
          logger: deps.logger,
          signal: abort.signal,
          ...(deps.now ? { now: deps.now } : {}),
          ...(deps.observer ? { observer: deps.observer } : {}),
        },
        // The job queue correlates after the run when it is there; alone, the run does.
        { ...request, correlate: request.correlate ?? deps.afterRun === undefined },
      );
      const slot = { promise: Promise.resolve(), abort };
      slot.promise = prepared
        .execute()
        .then(async () => {
          await deps.afterRun?.(prepared.runId);
        })
        .catch((error: unknown) => deps.logger.error({ err: error, collectionRunId: prepared.runId }, 'collection run could not finish'))
        .finally(() => running.delete(slot));
      running.add(slot);
      return prepared.runId;
    },
    busy: () => running.size > 0,
    async close() {
      const all = [...running];
      for (const slot of all) slot.abort.abort();
      await Promise.all(all.map((slot) => slot.promise));
    },
  };
}
