// `accesstrail import FILE… [--kind …]`: exported files instead of live collection.
// Importers are a table by kind; a new source adds a row. Metabase CSV exports need
// --kind metabase-query-log | metabase-view-log | metabase-audit-log.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { importEntraFile } from '../../collectors/files/entra-import.js';
import { importMetabaseUsageCsv, type MetabaseUsageCsvKind } from '../../collectors/metabase/usage-csv.js';
import { entraSourceId } from '../../collectors/streams.js';
import { silentProgress, type CollectContext, type StreamSummary } from '../../collectors/types.js';
import { requireSetting } from '../../config.js';
import { AppError } from '../../errors.js';
import { createCollectionRepository } from '../../store/collection.repository.js';
import { createEvidenceRepository } from '../../store/evidence.repository.js';
import { say, withStore } from '../context.js';

interface Importer {
  /** Which files it takes when no --kind is given. */
  accepts(file: string): boolean;
  run(context: CollectContext, file: string): Promise<StreamSummary>;
}

async function entraSource(context: CollectContext): Promise<string> {
  const tenantId = requireSetting(context.config, 'AZURE_TENANT_ID', 'the Entra tenant the downloads come from');
  const id = entraSourceId(tenantId);
  await context.collection.upsertSource({ id, kind: 'entra', displayName: `Entra ID tenant ${tenantId}`, settings: { tenantId } });
  return id;
}

const entraFile = /\.(json|csv)$/i;

export const importers: Record<string, Importer> = {
  entra: { accepts: (file) => entraFile.test(file), run: async (context, file) => importEntraFile(context, await entraSource(context), file) },
  'entra-sign-ins': { accepts: () => false, run: async (context, file) => importEntraFile(context, await entraSource(context), file, 'entra-sign-ins') },
  'entra-audits': { accepts: () => false, run: async (context, file) => importEntraFile(context, await entraSource(context), file, 'entra-audits') },
  // Metabase usage-analytics exports (CSV of the query log, view log and audit log cards).
  ...Object.fromEntries(
    (['query-log', 'view-log', 'audit-log'] as MetabaseUsageCsvKind[]).map((kind) => [
      `metabase-${kind}`,
      { accepts: () => false, run: async (context: CollectContext, file: string) => (await importMetabaseUsageCsv(context, file, kind)).streams[0]! } satisfies Importer,
    ]),
  ),
};

export function registerImport(program: Command): void {
  program
    .command('import')
    .description('load exported files instead of live collection: Entra sign-in and audit downloads (JSON or CSV), Metabase usage-analytics CSV exports (--kind metabase-query-log | metabase-view-log | metabase-audit-log)')
    .argument('<files...>', 'exported files')
    .option('--kind <kind>', `what the files hold: ${Object.keys(importers).join(' | ')} (default: detected)`)
    .action(async (files: string[], options: { kind?: string }) => {
      if (options.kind && !importers[options.kind]) throw new AppError('USAGE', `--kind must be one of ${Object.keys(importers).join(', ')} (got "${options.kind}")`);
      for (const file of files) if (!existsSync(file)) throw new AppError('USAGE', `${file} does not exist`);
      await withStore(async ({ store, config, logger }) => {
        const collection = createCollectionRepository(store.db);
        const runId = await collection.startRun('import', { files, kind: options.kind ?? null });
        const context: CollectContext = { store, config, logger, runId, evidence: createEvidenceRepository(store.db), collection, progress: silentProgress, now: () => new Date() };
        const summaries: StreamSummary[] = [];
        try {
          for (const file of files) {
            const importer = options.kind ? importers[options.kind]! : Object.values(importers).find((candidate) => candidate.accepts(file));
            if (!importer) throw new AppError('USAGE', `${file}: no importer takes this file; pass --kind`);
            summaries.push(await importer.run(context, file));
          }
        } catch (error) {
          await collection.finishRun(runId, { status: 'failed', summary: { streams: summaries }, error: (error as Error).message });
          throw error;
        }
        await collection.finishRun(runId, { status: 'succeeded', summary: { streams: summaries } });
        for (const [i, summary] of summaries.entries()) {
          say(`${files[i]}: ${summary.stream}: ${summary.records} records (${summary.inserted} new, ${summary.revised} revised, ${summary.quarantined} quarantined)`);
        }
      });
    });
}
