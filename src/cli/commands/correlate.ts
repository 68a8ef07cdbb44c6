import type { Command } from 'commander';

import type { CorrelationResult } from '../../correlation/correlate.js';
import { correlateFromConfig, DEFAULT_LOOKBACK_DAYS } from '../../correlation/service.js';
import type { CommandContext } from '../context.js';
import { say, withStore } from '../context.js';

/** Correlates the last 90 days up to now and prints what it found. */
export async function runCorrelationCommand(context: CommandContext): Promise<CorrelationResult> {
  const now = new Date();
  const from = new Date(now.getTime() - DEFAULT_LOOKBACK_DAYS * 86_400_000);
  const result = await correlateFromConfig(context.store.db, context.config, { from, to: now, asOf: now }, context.logger);
  printCorrelation(result);
  return result;
}

export function printCorrelation(result: CorrelationResult): void {
  say(
    `correlation run ${result.runId}: ${result.period.from.toISOString()} → ${result.period.to.toISOString()}, as of ${result.asOf.toISOString()}`,
  );
  say(`  people ${result.people}, Metabase accounts ${result.accounts}, terminated intervals ${result.terminatedIntervals}`);
  say(
    `  links: ${
      Object.entries(result.links)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
  );
  say(
    `  logins: ${
      Object.entries(result.matches)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
  );
  for (const rule of result.rules) {
    const outcome = rule.status === 'evaluated' ? `${rule.findings.length} finding(s)` : `not evaluable: ${rule.reason}`;
    say(
      `  ${rule.id.padEnd(26)} ${outcome}${rule.notEvaluableCount > 0 && rule.status === 'evaluated' ? ` (${rule.notEvaluableCount} not evaluable)` : ''}`,
    );
  }
}

export function registerCorrelate(program: Command): void {
  program
    .command('correlate')
    .description(`link accounts to people, match logins to sign-ins and evaluate the rules for the last ${DEFAULT_LOOKBACK_DAYS} days`)
    .action(async () => {
      await withStore(async (context) => {
        await runCorrelationCommand(context);
      });
    });
}
