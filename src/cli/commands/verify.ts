import type { Command } from 'commander';

import { AppError } from '../../errors.js';
import { verifyChain } from '../../store/chain.js';
import { say, withStore } from '../context.js';

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .description("check a report's signature and hashes, or (--store) the evidence hash chain; exit 0 only when intact")
    .argument('[files...]', 'report files (JSON, or a PDF/CSV/OSCAL file beside its JSON)')
    .option('--store', 'walk the evidence hash chain of the store')
    .action(async (files: string[], options: { store?: boolean }) => {
      if (options.store) {
        await withStore(async ({ store, config }) => {
          const result = await verifyChain(store.db, { archiveDir: config.archiveDir });
          if (!result.intact) {
            throw new AppError('VERIFY_FAILED', `evidence chain broken: ${result.firstBroken?.reason ?? 'unknown reason'}`);
          }
          say(`evidence chain intact: ${result.batches} batches, ${result.rows} rows`);
          const archived = result.archived;
          if (archived) {
            say(
              `  ${archived.rows} of those rows read back from ${archived.filesChecked} archive file(s) in ${config.archiveDir}, each matching its manifest's SHA-256 (${archived.archives} archive(s) in all)`,
            );
            for (const file of archived.unavailable)
              say(
                `  archived, not checked here: ${file.file} (${file.rows} rows, manifest sha256 ${file.sha256}) is not in ${config.archiveDir}`,
              );
            if (archived.unverifiedBatches > 0)
              say(
                `  ${archived.unverifiedBatches} batch(es) counted against their manifests only: put their files in ${config.archiveDir} to check their content`,
              );
          }
        });
        return;
      }
      if (files.length === 0) throw new AppError('USAGE', 'verify needs report files, or --store');
      const { verifyReportFiles } = await import('../../reports/verify-files.js');
      await verifyReportFiles(files);
    });
}
