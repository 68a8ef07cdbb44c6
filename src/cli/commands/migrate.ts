import type { Command } from 'commander';

import { say, withStore } from '../context.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('bring the store schema up to date (every command does this too)')
    .action(async () => {
      await withStore(async ({ store }) => {
        const outcome = (store as { migration?: { applied: string[]; current: number } }).migration;
        const applied = outcome?.applied ?? [];
        say(applied.length ? `applied ${applied.join(', ')} to ${store.location}` : `${store.location} is up to date`);
        say(`schema version ${outcome?.current ?? 'unknown'}`);
      });
    });
}
