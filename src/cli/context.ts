// What every command starts with: configuration, a logger, and the migrated store.
import type { Command } from 'commander';

import { type Config, loadConfig } from '../config.js';
import { createLogger, type Logger } from '../logger.js';
import { describeStoreFailure, openStore, type Store } from '../store/database.js';

export interface CommandContext {
  config: Config;
  logger: Logger;
  store: Store;
}

export function loadCommandConfig(): { config: Config; logger: Logger } {
  const config = loadConfig();
  const logger = createLogger({ level: config.ACCESSTRAIL_LOG_LEVEL, format: config.ACCESSTRAIL_LOG_FORMAT });
  return { config, logger };
}

export async function withStore<T>(run: (context: CommandContext) => Promise<T>): Promise<T> {
  const { config, logger } = loadCommandConfig();
  const store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir: config.dataDir });
  try {
    return await run({ config, logger, store });
  } catch (error) {
    throw describeStoreFailure(error, store.location);
  } finally {
    await store.close();
  }
}

/** Lines for people go to stdout; logs go to stderr. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A `list` subcommand: one line a row, or `none` when there is no row. */
export function registerList<T>(
  group: Command,
  options: { description: string; load: (store: Store) => Promise<T[]>; describe: (row: T) => string; none: string },
): void {
  group
    .command('list')
    .description(options.description)
    .action(async () => {
      await withStore(async ({ store }) => {
        const rows = await options.load(store);
        for (const row of rows) say(options.describe(row));
        if (rows.length === 0) say(options.none);
      });
    });
}
