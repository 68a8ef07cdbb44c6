import type { Command } from 'commander';
import { buildApp } from '../../api/app.js';
import { startCollectionSchedule } from '../../api/collection-schedule.js';
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
      try {
        // Fastify logs the one line with the address.
        await app.listen({ host: config.HOST, port: config.PORT, listenTextResolver: (address) => `accesstrail API listening on ${address}` });
      } catch (error) {
        await app.close();
        await store.close();
        throw new AppError('CONFIG_INVALID', `cannot listen on ${config.HOST}:${config.PORT} (HOST, PORT): ${(error as Error).message}`, { cause: error });
      }

      const minutes = config.ACCESSTRAIL_COLLECT_INTERVAL_MINUTES;
      const schedule = minutes === undefined ? undefined : startCollectionSchedule({ runner: app.collections, intervalMs: minutes * 60_000, logger });
      if (minutes !== undefined) logger.info(`scheduled collection of all sources every ${minutes} minutes`);

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
      schedule?.stop();
      // app.close() stops accepting connections, lets requests in flight finish and
      // aborts a running collection, which records its outcome before we close the store.
      await app.close();
      await store.close();
    });
}
