import path from 'node:path';

import type { Command } from 'commander';

import { restoreEvidenceArchive, runEvidenceArchive } from '../../jobs/evidence-retention.js';
import { say, withStore } from '../context.js';

const month = (date: Date) => date.toISOString().slice(0, 7);

export function registerArchive(program: Command): void {
  program
    .command('archive')
    .description(
      'archive the monthly evidence partitions older than ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS (outside every report period) to files, then drop them; or load an archive back',
    )
    .option('--dry-run', 'say what would be archived and what is kept, and why; change nothing')
    .option('--restore <file>', 'load an archive file (.ndjson.gz) back into the store, after checking it against its manifest')
    .action(async (options: { dryRun?: boolean; restore?: string }) => {
      await withStore(async ({ store, config, logger }) => {
        if (options.restore) {
          const restored = await restoreEvidenceArchive(store, path.resolve(options.restore));
          say(`restored ${restored.rows} rows of ${restored.table} into ${restored.partition} (archive ${restored.archiveId})`);
          say('its months are in the store again: reports can be built for them, and a stored report protects them from archival');
          return;
        }
        const run = await runEvidenceArchive({ store, config, logger, now: () => new Date() }, { dryRun: options.dryRun ?? false });
        if (!run) {
          say('ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS is not set: evidence is kept forever, nothing to archive');
          return;
        }
        say(
          `retention ${run.retentionMonths} months: partitions ending by ${run.horizon.toISOString()} may be archived to ${run.archiveDir}${options.dryRun ? ' (dry run)' : ''}`,
        );
        for (const decision of run.decisions) {
          const verb = decision.action === 'archive' ? (options.dryRun ? 'would archive' : 'archive') : 'keep';
          say(`  ${verb.padEnd(13)} ${decision.table} ${month(decision.from)}: ${decision.reason}`);
        }
        for (const archived of run.archived)
          say(
            `archived ${archived.table} ${month(archived.from)}: ${archived.rows} rows → ${archived.file} (sha256 ${archived.sha256}, ${archived.bytes} bytes), partition ${archived.name} dropped`,
          );
        for (const deferred of run.deferred) say(`not archived ${deferred.partition}: ${deferred.reason}`);
        if (!options.dryRun && run.archived.length === 0 && run.deferred.length === 0) say('nothing to archive');
      });
    });
}
