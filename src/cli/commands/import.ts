// `accesstrail import FILE… [--kind …] [--no-coverage]`: exported files instead of live
// collection. Importers are a table by kind; a new source adds a row. Entra exports are
// detected from their columns (docs/imports.md); Metabase CSV exports need
// --kind metabase-query-log | metabase-view-log | metabase-audit-log.
import { existsSync } from 'node:fs';

import type { Command } from 'commander';

import { entraImportKinds, type EntraImportOptions, importEntraFile } from '../../collectors/entra/import/index.js';
import { importMetabaseUsageCsv, type MetabaseUsageCsvKind } from '../../collectors/metabase/usage-csv.js';
import { type CollectContext, createCollectContext, type StreamSummary } from '../../collectors/types.js';
import { requireSetting } from '../../config.js';
import { AppError } from '../../errors.js';
import { createCollectionRepository } from '../../store/collection.repository.js';
import { entraSourceId } from '../../store/streams.js';
import { say, withStore } from '../context.js';

interface ImportOptions {
  claimCoverage: boolean;
}

interface Importer {
  /** Which files it takes when no --kind is given. */
  accepts(file: string): boolean;
  run(context: CollectContext, file: string, options: ImportOptions): Promise<StreamSummary>;
}

async function entraSource(context: CollectContext): Promise<string> {
  const tenantId = requireSetting(context.config, 'AZURE_TENANT_ID', 'the Entra tenant the downloads come from');
  const id = entraSourceId(tenantId);
  await context.collection.upsertSource({ id, kind: 'entra', displayName: `Entra ID tenant ${tenantId}`, settings: { tenantId } });
  return id;
}

const entraFile = /\.(json|csv)$/i;

const entraOptions = (options: ImportOptions, kind?: EntraImportOptions['kind']): EntraImportOptions => ({
  kind,
  claimCoverage: options.claimCoverage,
});

export const importers: Record<string, Importer> = {
  entra: {
    accepts: (file) => entraFile.test(file),
    run: async (context, file, options) => importEntraFile(context, await entraSource(context), file, entraOptions(options)),
  },
  // A kind given is checked against the file's columns and refused when they disagree.
  ...Object.fromEntries(
    entraImportKinds.map((kind) => [
      kind,
      {
        accepts: () => false,
        run: async (context: CollectContext, file: string, options: ImportOptions) =>
          importEntraFile(context, await entraSource(context), file, entraOptions(options, kind)),
      } satisfies Importer,
    ]),
  ),
  // Metabase usage-analytics exports (CSV of the query log, view log and audit log cards).
  ...Object.fromEntries(
    (['query-log', 'view-log', 'audit-log'] as MetabaseUsageCsvKind[]).map((kind) => [
      `metabase-${kind}`,
      {
        accepts: () => false,
        run: async (context: CollectContext, file: string) => (await importMetabaseUsageCsv(context, file, kind)).streams[0]!,
      } satisfies Importer,
    ]),
  ),
};

export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'load exported files instead of live collection: Entra admin center sign-in and audit downloads and Log Analytics exports (CSV or JSON, kind detected from the columns; docs/imports.md), Metabase usage-analytics CSV exports (--kind metabase-query-log | metabase-view-log | metabase-audit-log)',
    )
    .argument('<files...>', 'exported files')
    .option(
      '--kind <kind>',
      `what the files hold: ${Object.keys(importers).join(' | ')} (default: detected; refused if the columns say otherwise)`,
    )
    .option('--no-coverage', "claim no coverage for the files' time span (for filtered exports)")
    .action(async (files: string[], options: { kind?: string; coverage: boolean }) => {
      if (options.kind && !importers[options.kind])
        throw new AppError('USAGE', `--kind must be one of ${Object.keys(importers).join(', ')} (got "${options.kind}")`);
      for (const file of files) if (!existsSync(file)) throw new AppError('USAGE', `${file} does not exist`);
      await withStore(async ({ store, config, logger }) => {
        const collection = createCollectionRepository(store.db);
        const runId = await collection.startRun('import', { files, kind: options.kind ?? null });
        const context = createCollectContext({ store, config, logger, runId, collection, now: () => new Date() });
        const summaries: StreamSummary[] = [];
        try {
          for (const file of files) {
            const importer = options.kind
              ? importers[options.kind]!
              : Object.values(importers).find((candidate) => candidate.accepts(file));
            if (!importer) throw new AppError('USAGE', `${file}: no importer takes this file; pass --kind`);
            summaries.push(await importer.run(context, file, { claimCoverage: options.coverage }));
          }
        } catch (error) {
          await collection.finishRun(runId, { status: 'failed', summary: { streams: summaries }, error: (error as Error).message });
          throw error;
        }
        await collection.finishRun(runId, { status: 'succeeded', summary: { streams: summaries } });
        for (const [i, summary] of summaries.entries()) {
          say(
            `${files[i]}: ${summary.stream}: ${summary.records} records (${summary.inserted} new, ${summary.revised} revised, ${summary.quarantined} quarantined)`,
          );
          for (const note of summary.notes) say(`  ${note}`);
        }
      });
    });
}
