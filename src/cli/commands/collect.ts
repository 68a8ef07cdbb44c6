import type { Command } from 'commander';
import { collectEntra } from '../../collectors/entra/index.js';
import { collectMetabase } from '../../collectors/metabase/index.js';
import type { CollectContext, CollectOptions, SourceSummary } from '../../collectors/types.js';
import { AppError } from '../../errors.js';
import { createCollectionRepository } from '../../store/collection.repository.js';
import { createEvidenceRepository } from '../../store/evidence.repository.js';
import { say, withStore } from '../context.js';
import { parseInstant } from '../options.js';
import { terminalProgress } from '../progress.js';

export function registerCollect(program: Command): void {
  program
    .command('collect')
    .description('pull from the configured sources into the store, incrementally from the last checkpoint')
    .option('--source <source>', 'entra | metabase | all', 'all')
    .option('--since <iso>', 'first run: collect from this instant (else the retention window)')
    .option('--until <iso>', 'collect up to this instant (default: now)')
    .option('--no-correlate', 'do not run the correlation afterwards')
    .action(async (options: { source: string; since?: string; until?: string; correlate: boolean }) => {
      if (!['entra', 'metabase', 'all'].includes(options.source)) throw new AppError('USAGE', `--source must be entra, metabase or all (got "${options.source}")`);
      const collectOptions: CollectOptions = {
        ...(options.since ? { since: parseInstant('--since', options.since) } : {}),
        ...(options.until ? { until: parseInstant('--until', options.until) } : {}),
      };
      await withStore(async ({ store, config, logger }) => {
        const collection = createCollectionRepository(store.db);
        const runId = await collection.startRun('collect', { ...options });
        const context: CollectContext = {
          store,
          config,
          logger,
          runId,
          evidence: createEvidenceRepository(store.db),
          collection,
          progress: terminalProgress(),
          now: () => new Date(),
        };
        const summaries: SourceSummary[] = [];
        // --source all collects every source that is configured; naming one source
        // makes its settings required (and a missing one is reported).
        const entraConfigured = config.AZURE_TENANT_ID !== undefined || config.ENTRA_METABASE_APP_IDS.length > 0;
        const metabaseConfigured = config.METABASE_DB_URL !== undefined || config.METABASE_URL !== undefined;
        const wantEntra = options.source === 'entra' || (options.source === 'all' && entraConfigured);
        const wantMetabase = options.source === 'metabase' || (options.source === 'all' && metabaseConfigured);
        if (!wantEntra && !wantMetabase) {
          await collection.finishRun(runId, { status: 'failed', summary: {}, error: 'no source configured' });
          throw new AppError('CONFIG_INVALID', 'no source is configured: set AZURE_TENANT_ID and ENTRA_METABASE_APP_IDS (Entra), or METABASE_DB_URL or METABASE_URL (Metabase)');
        }
        try {
          if (wantEntra) summaries.push(await collectEntra(context, collectOptions));
          if (wantMetabase) summaries.push(await collectMetabase(context, collectOptions));
        } catch (error) {
          await collection.finishRun(runId, { status: 'failed', summary: { sources: summaries }, error: (error as Error).message });
          throw error;
        }
        await collection.finishRun(runId, { status: 'succeeded', summary: { sources: summaries } });
        for (const summary of summaries) printSummary(summary);
        if (options.correlate) {
          const { runCorrelationCommand } = await import('./correlate.js');
          await runCorrelationCommand({ store, config, logger });
        }
      });
    });
}

function printSummary(summary: SourceSummary): void {
  say(`${summary.sourceId}:`);
  for (const stream of summary.streams) {
    const coverage = stream.coverage.map((range) => `${range.from.toISOString()} → ${range.to.toISOString()}`).join(', ') || 'none';
    say(`  ${stream.stream}: ${stream.records} records (${stream.inserted} new, ${stream.revised} revised, ${stream.quarantined} quarantined); coverage ${coverage}`);
    for (const note of stream.notes) say(`    note: ${note}`);
  }
}
