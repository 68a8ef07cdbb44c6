// Scheduled collection for `serve`: every interval, collect all sources. A tick while
// a collection (scheduled or requested over HTTP) is still running is skipped rather
// than queued, so a slow upstream cannot pile runs up behind each other.
import type { Logger } from '../logger.js';
import type { CollectionRunner } from './collection-runner.js';

export interface CollectionSchedule {
  stop(): void;
}

export function startCollectionSchedule(options: { runner: CollectionRunner; intervalMs: number; logger: Logger }): CollectionSchedule {
  const { runner, logger } = options;
  const timer = setInterval(() => {
    if (runner.busy()) {
      logger.info('scheduled collection skipped: a collection is still running');
      return;
    }
    runner.start({ source: 'all', requestedBy: 'scheduler' }).then(
      (runId) => logger.info({ collectionRunId: runId }, 'scheduled collection started'),
      (error: unknown) => logger.warn({ err: error }, 'scheduled collection could not start'),
    );
  }, options.intervalMs);
  return { stop: () => clearInterval(timer) };
}
