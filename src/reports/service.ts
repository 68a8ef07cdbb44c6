// Building, storing and reading reports: what the CLI's `report` command and the API's
// /v1/reports routes call.
import path from 'node:path';

import { type Kysely, sql } from 'kysely';

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
  // Each phase's time and the process's memory after it, at debug (what an operator
  // reads when a report of a large tenant is slow or large).
  let phaseStarted = performance.now();
  const phaseDone = (message: string, fields: Record<string, unknown> = {}) => {
    const now = performance.now();
    deps.logger?.debug({ ...fields, ms: Math.round(now - phaseStarted), rssMb: Math.round(process.memoryUsage.rss() / 2 ** 20) }, message);
    phaseStarted = now;
  };
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
  phaseDone('report model built', { runId: correlation.runId, reused: correlation.reused });
  const written = await writeReportArtefacts({
    model: unsigned,
    formats: request.formats,
    outDir: request.outDir ?? path.join(deps.config.dataDir, 'reports'),
    dataDir: deps.config.dataDir,
  });
  const model = written.model;
  const integrity = model.integrity!;
  const reportId = reportBaseName(model);
  phaseDone('report files written', { formats: request.formats });
  await deps.db.transaction().execute(async (trx) => {
    // Immutable: a report with the same content (its id carries the content hash) is
    // already stored as it was, and nothing is sent again.
    if (await trx.selectFrom('report').select('id').where('id', '=', reportId).executeTakeFirst()) return;
    // The bytes the API serves (canonical JSON: what the hash and signature cover), sent
    // once: the jsonb copy is parsed from them by Postgres, the same document (jsonb keeps
    // no key order), instead of a second serialisation of the model and a second
    // parameter of the same size (two 23 MB strings at 20,000 accounts).
    const servedJson = canonicalReportJson(model);
    const { rows } = await sql<{ id: string }>`
      insert into report (id, framework, period_from, period_to, as_of, generated_at, provisional, content_sha256,
                          signature, content, content_json, content_json_sha256, correlation_run_id)
      select ${reportId}::text, ${model.framework}::text, ${model.period.from}::timestamptz, ${model.period.to}::timestamptz,
             ${model.asOf}::timestamptz, ${model.generatedAt}::timestamptz, ${model.provisional}::boolean,
             ${integrity.contentSha256}::text, ${JSON.stringify(integrity.signature)}::jsonb,
             served.json::jsonb, served.json, ${sha256Hex(servedJson)}::text, ${correlation.runId}::bigint
      from (select ${servedJson}::text as json) served
      on conflict (id) do nothing
      returning id`.execute(trx);
    const inserted = rows[0];
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
  phaseDone('report stored');
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
