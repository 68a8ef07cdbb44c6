import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { say, withStore } from '../context.js';

/** Placeholder until the correlator lands (issue: correlator). */
export async function runCorrelationCommand(_context: CommandContext): Promise<void> {
  say('correlation: not available in this build yet');
}

export function registerCorrelate(program: Command): void {
  program
    .command('correlate')
    .description('resolve identities and evaluate the finding rules over the stored evidence')
    .action(async () => {
      await withStore(runCorrelationCommand);
    });
}
