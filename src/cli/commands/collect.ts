import type { Command } from 'commander';

import type { SourceSummary } from '../../collectors/types.js';
import { AppError } from '../../errors.js';
import { type CollectionSource, runCollection } from '../../jobs/collection-run.js';
import { say, withStore } from '../context.js';
import { parseInstant } from '../options.js';
import { terminalProgress } from '../progress.js';
import { printCorrelation } from './correlate.js';

export function registerCollect(program: Command): void {
  program
    .command('collect')
    .description('pull from the configured sources into the store, incrementally from the last checkpoint, then correlate')
    .option('--source <source>', 'entra | metabase | all (all: the configured ones)', 'all')
    .option('--since <iso>', 'first run: collect from this instant (else the retention window)')
    .option('--until <iso>', 'collect up to this instant (default: now)')
    .option('--no-correlate', 'do not run the correlation afterwards')
    .option('--wait', 'when a source is being collected by another process (serve), wait for it instead of exiting')
    .action(async (options: { source: string; since?: string; until?: string; correlate: boolean; wait?: boolean }) => {
      if (!['entra', 'metabase', 'all'].includes(options.source))
        throw new AppError('USAGE', `--source must be entra, metabase or all (got "${options.source}")`);
      const since = options.since ? parseInstant('--since', options.since) : undefined;
      const until = options.until ? parseInstant('--until', options.until) : undefined;
      await withStore(async ({ store, config, logger }) => {
        const result = await runCollection(
          { store, config, logger, progress: terminalProgress(), failureLogLevel: 'info' },
          {
            source: options.source as CollectionSource,
            ...(since ? { since } : {}),
            ...(until ? { until } : {}),
            requestedBy: 'cli',
            correlate: options.correlate,
            waitForLock: options.wait ?? false,
          },
        ).catch((error: unknown) => {
          // The run's words know nothing of flags; the command names the one that helps.
          if (error instanceof AppError && error.code === 'CONFLICT') throw new AppError('CONFLICT', `${error.message} (or use --wait)`);
          throw error;
        });
        for (const source of result.sources) {
          if (source.summary) printSummary(source.summary);
          if (source.status === 'skipped') say(`${source.kind}: skipped, ${source.reason}`);
        }
        say(`collection run ${result.runId}: ${result.status}`);
        if (result.correlation) printCorrelation(result.correlation);
        const failed = result.sources.filter((s) => s.status === 'failed' || s.status === 'partial');
        // One failing source: its own error, as the collector worded it (and its exit code).
        if (failed.length === 1 && failed[0]!.error instanceof Error) throw failed[0]!.error;
        if (result.status === 'failed') {
          const configMissing = result.sources.every((s) => s.status === 'skipped' || /is not set/.test(s.reason ?? ''));
          throw new AppError(configMissing ? 'CONFIG_INVALID' : 'UPSTREAM_UNAVAILABLE', result.error ?? 'the collection failed');
        }
        if (result.status === 'partial') throw new AppError('UPSTREAM_UNAVAILABLE', `the collection was partial: ${result.error}`);
      });
    });
}

function printSummary(summary: SourceSummary): void {
  say(`${summary.sourceId}:`);
  for (const stream of summary.streams) {
    const coverage = stream.coverage.map((range) => `${range.from.toISOString()} → ${range.to.toISOString()}`).join(', ') || 'none';
    say(
      `  ${stream.stream}: ${stream.records} records (${stream.inserted} new, ${stream.revised} revised, ${stream.quarantined} quarantined); coverage ${coverage}`,
    );
    for (const note of stream.notes) say(`    note: ${note}`);
  }
}
