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

export async function buildDueReports(deps: DueReportsDeps): Promise<CreatedReport[]> {
  const now = deps.now();
  const created: CreatedReport[] = [];
  const firstCovered = await deps.db
    .selectFrom('coverage_window')
    .select((eb) => eb.fn.min('covered_from').as('first'))
    .executeTakeFirst();
  if (!firstCovered?.first) return created;
  const archiveStart = new Date(firstCovered.first as unknown as string);
  for (const quarter of closedQuarters(now, deps.config.ACCESSTRAIL_REPORT_SETTLE_HOURS)) {
    if (quarter.to.getTime() <= archiveStart.getTime()) continue;
    for (const framework of AUTOMATIC_FRAMEWORKS) {
      const existing = await deps.db
        .selectFrom('report')
        .select('id')
        .where('framework', '=', framework)
        .where('period_from', '=', quarter.from)
        .where('period_to', '=', quarter.to)
        .where('provisional', '=', false)
        .executeTakeFirst();
      if (existing) continue;
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
