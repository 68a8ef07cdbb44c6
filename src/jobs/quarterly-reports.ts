// The quarterly reports the service builds by itself: for every quarter that has closed
// at least ACCESSTRAIL_REPORT_SETTLE_HOURS ago and that the archive covers at least in
// part, one signed report per framework (SOC 2, ISO 27001), unless a final (not
// provisional) report of that framework and quarter is already stored.
//
// Why wait: Entra delivers sign-ins and audits late (minutes, at times hours after the
// event), and the collector re-reads an overlap for them; a report built at 00:00 on the
// first day of the next quarter would miss the last hours' late events and report a
// gap that the next collection fills. The settle delay lets at least one collection
// after the close pick them up (the default 6 h covers several hourly collections).
import type { Kysely } from 'kysely';

import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Framework } from '../reports/model.js';
import { parseQuarter, type Period } from '../reports/period.js';
import { type CreatedReport, createReport } from '../reports/service.js';
import type { ReportFormat } from '../reports/write.js';
import { describeArchive, readActiveArchives } from '../store/archive.js';
import type { Database } from '../store/schema.js';

export const AUTOMATIC_FRAMEWORKS: Framework[] = ['soc2', 'iso27001'];
const AUTOMATIC_FORMATS: ReportFormat[] = ['json', 'pdf', 'csv', 'oscal'];
/** How many closed quarters back the service looks (a store left off for a year gets its last year). */
const LOOKBACK_QUARTERS = 4;

export function quarterOf(instant: Date): Period {
  return parseQuarter(`${instant.getUTCFullYear()}-Q${Math.floor(instant.getUTCMonth() / 3) + 1}`);
}

/** Closed quarters whose reports are due at `now`, oldest first. */
export function closedQuarters(now: Date, settleHours: number): Period[] {
  const settled = new Date(now.getTime() - settleHours * 3_600_000);
  const quarters: Period[] = [];
  let current = quarterOf(settled);
  for (let i = 0; i < LOOKBACK_QUARTERS; i++) {
    const previous = quarterOf(new Date(current.from.getTime() - 1));
    quarters.unshift(previous);
    current = previous;
  }
  return quarters;
}

export interface DueReportsDeps {
  db: Kysely<Database>;
  config: Config;
  logger: Logger;
  now: () => Date;
}

/** The closed quarters the `reports` job would still build at `now`: settled, reached by
 *  the store's coverage, and lacking a final report of some automatic framework. The
 *  archiver (evidence-retention.ts) keeps their evidence in the store. */
export async function pendingQuarters(
  db: Kysely<Database>,
  now: Date,
  settleHours: number,
): Promise<{ quarter: Period; frameworks: Framework[] }[]> {
  const firstCovered = await db
    .selectFrom('coverage_window')
    .select((eb) => eb.fn.min('covered_from').as('first'))
    .executeTakeFirst();
  if (!firstCovered?.first) return [];
  const archiveStart = new Date(firstCovered.first as unknown as string);
  const pending: { quarter: Period; frameworks: Framework[] }[] = [];
  for (const quarter of closedQuarters(now, settleHours)) {
    if (quarter.to.getTime() <= archiveStart.getTime()) continue;
    const frameworks: Framework[] = [];
    for (const framework of AUTOMATIC_FRAMEWORKS) {
      const existing = await db
        .selectFrom('report')
        .select('id')
        .where('framework', '=', framework)
        .where('period_from', '=', quarter.from)
        .where('period_to', '=', quarter.to)
        .where('provisional', '=', false)
        .executeTakeFirst();
      if (!existing) frameworks.push(framework);
    }
    if (frameworks.length > 0) pending.push({ quarter, frameworks });
  }
  return pending;
}

export async function buildDueReports(deps: DueReportsDeps): Promise<CreatedReport[]> {
  const created: CreatedReport[] = [];
  for (const { quarter, frameworks } of await pendingQuarters(deps.db, deps.now(), deps.config.ACCESSTRAIL_REPORT_SETTLE_HOURS)) {
    // Archived evidence is never reported on (reports/service.ts refuses): say so once
    // per watch instead of failing the job, which would retry in vain.
    const archived = (await readActiveArchives(deps.db, quarter)).filter((a) => a.rows > 0);
    if (archived.length > 0) {
      deps.logger.warn(
        { quarter: quarter.label, archives: archived.map((a) => a.fileName) },
        `quarterly reports for ${quarter.label} not built: part of its evidence is archived (${archived.map(describeArchive).join('; ')})`,
      );
      continue;
    }
    for (const framework of frameworks) {
      const report = await createReport(
        { db: deps.db, config: deps.config, logger: deps.logger, now: deps.now },
        { framework, period: quarter, formats: AUTOMATIC_FORMATS },
      );
      deps.logger.info({ reportId: report.reportId, framework, quarter: quarter.label }, 'quarterly report built');
      created.push(report);
    }
  }
  return created;
}
