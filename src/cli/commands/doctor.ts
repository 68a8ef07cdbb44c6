import type { Command } from 'commander';

import { renderJson, renderText, runDoctor, summarise } from '../../doctor/index.js';
import { AppError } from '../../errors.js';
import { loadCommandConfig } from '../context.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      'check the configuration end to end (Entra credential, permissions, licence, Metabase app; Metabase database and API; store) without changing anything',
    )
    .option('--json', 'one JSON document instead of lines')
    .action(async (options: { json?: boolean }) => {
      // No withStore: that would migrate the store, and the doctor must change nothing.
      const { config } = loadCommandConfig();
      const checks = await runDoctor(config);
      process.stdout.write(options.json ? renderJson(checks, new Date()) : renderText(checks));
      const summary = summarise(checks);
      if (!summary.ok)
        throw new AppError('VERIFY_FAILED', `doctor: ${summary.failed} required check${summary.failed === 1 ? '' : 's'} failed`);
    });
}
