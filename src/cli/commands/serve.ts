import type { Command } from 'commander';

import { buildWebApp } from '../../console/web-app.js';
import { AppError } from '../../errors.js';
import { createServiceMetrics } from '../../jobs/metrics.js';
import { createJobSystem } from '../../jobs/system.js';
import { openStore } from '../../store/database.js';
import { loadCommandConfig } from '../context.js';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'the HTTP API (HOST, PORT) and the durable jobs: scheduled collection (ACCESSTRAIL_COLLECT_SCHEDULE), correlation, quarterly reports, retention guard, webhook',
    )
    .action(async () => {
      const { config, logger } = loadCommandConfig();
      const store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir });
      const metrics = createServiceMetrics();
      const jobs = createJobSystem({ store, config, logger, metrics });
      let app: Awaited<ReturnType<typeof buildWebApp>>;
      try {
        await jobs.start();
        app = await buildWebApp({ store, config, logger, jobs, metrics });
      } catch (error) {
        await jobs.stop().catch(() => undefined);
        await store.close();
        throw error;
      }
      try {
        // Fastify logs the one line with the address.
        await app.listen({
          host: config.HOST,
          port: config.PORT,
          listenTextResolver: (address) => `accesstrail API listening on ${address}`,
        });
      } catch (error) {
        await app.close();
        await jobs.stop();
        await store.close();
        throw new AppError('CONFIG_INVALID', `cannot listen on ${config.HOST}:${config.PORT} (HOST, PORT): ${(error as Error).message}`, {
          cause: error,
        });
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
      // app.close() stops accepting connections, lets requests in flight finish and aborts
      // a collection started over HTTP; jobs.stop() aborts a scheduled one (its job is
      // retried by the next process). Both record their outcome before the store closes.
      await app.close();
      await jobs.stop();
      metrics.close();
      await store.close();
    });
}
