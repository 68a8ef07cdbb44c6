import type { Command } from 'commander';
import { buildApp } from '../../api/app.js';
import { AppError } from '../../errors.js';
import { openStore } from '../../store/database.js';
import { loadCommandConfig } from '../context.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('the HTTP API (HOST, PORT) and, with ACCESSTRAIL_COLLECT_INTERVAL_MINUTES, scheduled collection')
    .action(async () => {
      const { config, logger } = loadCommandConfig();
      const store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir });
      let app: Awaited<ReturnType<typeof buildApp>>;
      try {
        app = await buildApp({ store, config, logger });
      } catch (error) {
        await store.close();
        throw error;
      }
      let timer: NodeJS.Timeout | undefined;
      try {
        // Fastify logs the one line with the address.
        await app.listen({ host: config.HOST, port: config.PORT, listenTextResolver: (address) => `accesstrail API listening on ${address}` });
      } catch (error) {
        await app.close();
        await store.close();
        throw new AppError('CONFIG_INVALID', `cannot listen on ${config.HOST}:${config.PORT} (HOST, PORT): ${(error as Error).message}`, { cause: error });
      }

      const minutes = config.ACCESSTRAIL_COLLECT_INTERVAL_MINUTES;
      if (minutes !== undefined) {
        // Overlap guard: a tick while a collection (scheduled or requested over HTTP)
        // is still running is skipped, not queued.
        timer = setInterval(() => {
          if (app.collections.busy()) {
            logger.info('scheduled collection skipped: a collection is still running');
            return;
          }
          app.collections.start({ source: 'all', requestedBy: 'scheduler' }).then(
            (runId) => logger.info({ collectionRunId: runId }, 'scheduled collection started'),
            (error: unknown) => logger.warn({ err: error }, 'scheduled collection could not start'),
          );
        }, minutes * 60_000);
        logger.info(`scheduled collection every ${minutes} minutes`);
      }

      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          logger.info({ signal }, 'stopping');
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      if (timer) clearInterval(timer);
      // app.close() stops accepting connections, lets requests in flight finish and
      // aborts a running collection, which records its outcome before we close the store.
      await app.close();
      await store.close();
    });
}
