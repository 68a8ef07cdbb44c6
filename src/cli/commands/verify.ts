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
        await withStore(async ({ store }) => {
          const result = await verifyChain(store.db);
          if (!result.intact) {
            throw new AppError('VERIFY_FAILED', `evidence chain broken: ${result.firstBroken?.reason ?? 'unknown reason'}`);
          }
          say(`evidence chain intact: ${result.batches} batches, ${result.rows} rows`);
        });
        return;
      }
      if (files.length === 0) throw new AppError('USAGE', 'verify needs report files, or --store');
      const { verifyReportFiles } = await import('../../reports/verify-files.js');
      await verifyReportFiles(files);
    });
}
