// Building, storing and reading reports: what the CLI's `report` command and the API's
// /v1/reports routes call.
import path from 'node:path';

import type { Kysely } from 'kysely';

import type { Config } from '../config.js';
import type { CorrelationResult } from '../correlation/correlate.js';
import { derivedRowsPresent } from '../correlation/reuse.js';
import { correlateFromConfig } from '../correlation/service.js';
import { AppError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeArchive, duringReportBuild, readActiveArchives } from '../store/archive.js';
import type { Database } from '../store/schema.js';
import { buildReportModel } from './build-model.js';
import { canonicalReportJson } from './canonical-json.js';
import type { Framework, ReportModel } from './model.js';
import { reportBaseName } from './render/naming.js';
import { sha256Hex } from './signing.js';
import { type ReportFormat, writeReportArtefacts, type WrittenFile } from './write.js';

export interface ReportRequest {
  framework: Framework;
  period: { from: Date; to: Date };
  formats: ReportFormat[];
  /** Where to write the files (default: <dataDir>/reports). */
  outDir?: string;
  /** Read the rules' results from an earlier report run of identical inputs over an
   *  unchanged store, when one is kept (default true; src/correlation/reuse.ts). */
  reuseCorrelation?: boolean;
}

export interface CreatedReport {
  reportId: string;
  contentSha256: string;
  model: ReportModel;
  files: WrittenFile[];
  manifest: { path: string; sha256: string; bytes: number };
  /** The correlation that evaluated the rules for this report. */
  correlation: CorrelationResult;
}

export interface ReportDependencies {
  db: Kysely<Database>;
  config: Config;
  logger?: Logger;
  /** Clock (tests and the demo pin it). */
  now?: () => Date;
}

/** Evaluates the rules for the period at its as-of (the period end, or now for a period
 *  that has not ended: a provisional report), builds the model, signs, renders and
 *  stores it. The same evidence and parameters give the same content hash. */
export async function createReport(deps: ReportDependencies, request: ReportRequest): Promise<CreatedReport> {
  // No month of the period is archived while the report reads it (src/store/archive.ts).
  return duringReportBuild(deps.db, async () => {
    await refuseArchivedPeriod(deps.db, request.period);
    return buildAndStore(deps, request);
  });
}

async function buildAndStore(deps: ReportDependencies, request: ReportRequest): Promise<CreatedReport> {
  const generatedAt = deps.now?.() ?? new Date();
  const asOf = new Date(Math.min(request.period.to.getTime(), generatedAt.getTime()));
  const build = async (reuse: boolean) => {
    const correlation = await correlateFromConfig(
      deps.db,
      deps.config,
      { from: request.period.from, to: request.period.to, asOf, purpose: 'report', reuse },
      deps.logger,
    );
    const model = await buildReportModel({ db: deps.db, framework: request.framework, period: request.period, generatedAt, correlation });
    return { correlation, model };
  };
  let { correlation, model: unsigned } = await build(request.reuseCorrelation ?? true);
  // A reused run is an older one: should newer runs have pruned its links, intervals or
  // matches while the model read them, evaluate afresh.
  if (correlation.reused && !(await derivedRowsPresent(deps.db, correlation.runId, correlation))) {
    deps.logger?.warn({ runId: correlation.runId }, 'reused correlation run was pruned while the report read it; evaluating afresh');
    ({ correlation, model: unsigned } = await build(false));
  }
  const written = await writeReportArtefacts({
    model: unsigned,
    formats: request.formats,
    outDir: request.outDir ?? path.join(deps.config.dataDir, 'reports'),
    dataDir: deps.config.dataDir,
  });
  const model = written.model;
  const integrity = model.integrity!;
  const reportId = reportBaseName(model);
  await deps.db.transaction().execute(async (trx) => {
    // Immutable: a report with the same content is already stored as it was.
    const servedJson = canonicalReportJson(model);
    const inserted = await trx
      .insertInto('report')
      .values({
        id: reportId,
        framework: model.framework,
        period_from: model.period.from,
        period_to: model.period.to,
        as_of: model.asOf,
        generated_at: model.generatedAt,
        provisional: model.provisional,
        content_sha256: integrity.contentSha256,
        signature: JSON.stringify(integrity.signature),
        content: JSON.stringify(model),
        // The bytes the API serves (canonical JSON: what the hash and signature cover).
        content_json: servedJson,
        content_json_sha256: sha256Hex(servedJson),
        correlation_run_id: correlation.runId,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) {
      for (const file of written.files) {
        await trx
          .insertInto('report_rendering')
          .values({ report_id: reportId, format: file.format, name: path.basename(file.path), sha256: file.sha256, bytes: file.bytes })
          .onConflict((oc) => oc.doNothing())
          .execute();
      }
    }
  });
  deps.logger?.info({ reportId, contentSha256: integrity.contentSha256, findings: model.findings.length }, 'report created');
  return { reportId, contentSha256: integrity.contentSha256, model, files: written.files, manifest: written.manifest, correlation };
}

/** A report is never built over evidence archived out of the store (src/store/archive.ts):
 *  its rules would read the archived months' missing rows as "nothing happened". The
 *  archive is loaded back first (docs/operations.md, "Evidence retention"). */
export async function refuseArchivedPeriod(db: Kysely<Database>, period: { from: Date; to: Date }): Promise<void> {
  // An archive of an empty partition took nothing out of the store.
  const archived = (await readActiveArchives(db, period)).filter((a) => a.rows > 0);
  if (archived.length === 0) return;
  throw new AppError(
    'CONFLICT',
    `the period ${period.from.toISOString()} → ${period.to.toISOString()} includes evidence archived out of the store: ${archived
      .map(describeArchive)
      .join('; ')}. Restore those months from their archive files, then build the report again (docs/operations.md, Evidence retention)`,
    {
      details: {
        archives: archived.map((a) => ({
          table: a.table,
          from: a.from.toISOString(),
          to: a.to.toISOString(),
          file: a.fileName,
          sha256: a.sha256,
        })),
      },
    },
  );
}
