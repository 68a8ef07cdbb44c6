import type { Command } from 'commander';

import { repackRecords } from '../../store/repack.js';
import { say, withStore } from '../context.js';

const size = (bytes: number) => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

export function registerRepack(program: Command): void {
  program
    .command('repack')
    .description(
      'rewrite the records stored before migration 0012 in the packed form (same records, same hashes, ~40 % of the space); safe to stop and run again',
    )
    .option('--dry-run', 'count the rows still in the old form; change nothing')
    .action(async (options: { dryRun?: boolean }) => {
      await withStore(async ({ store }) => {
        let lastSaid = Date.now();
        const outcomes = await repackRecords(store.db, {
          dryRun: options.dryRun ?? false,
          onProgress: (table, done, total) => {
            // A line every ~10 s on a large table, none on a small one.
            if (Date.now() - lastSaid < 10_000) return;
            lastSaid = Date.now();
            say(`  ${table}: ${done} of ${total} rows read`);
          },
        });
        for (const o of outcomes) {
          if (options.dryRun) {
            say(`${o.table}: ${o.found} rows in the old form${o.found > 0 ? ` (the table is ${size(o.bytesBefore)})` : ''}`);
            continue;
          }
          if (o.found === 0) {
            say(`${o.table}: nothing to repack`);
            continue;
          }
          say(
            `${o.table}: ${o.repacked} of ${o.found} rows repacked; they took ${size(o.rowBytesBefore)}, now ${size(o.rowBytesAfter)} (the table's files: ${size(o.bytesAfter)})`,
          );
          if (o.skipped > 0)
            say(`  ${o.skipped} rows changed by a collection meanwhile: left to the writer (run again to repack what is left)`);
          if (o.mismatched > 0)
            say(
              `  ${o.mismatched} rows left as they were: their stored hash is not the hash of the row (run \`accesstrail verify --store\`)`,
            );
        }
        if (!options.dryRun && outcomes.some((o) => o.repacked > 0))
          say(
            'the freed space is reused by the rows to come; `VACUUM FULL <table>` returns it to the file system, but locks the table while it runs',
          );
      });
    });
}
