// Evidence retention (ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS): what `accesstrail archive`
// and the daily `archive` job run. The policy lives here, the mechanics in
// src/store/archive.ts. A monthly partition is archived (file, check, detach, drop) only
// when it ends at or before the horizon (the first of the month N months before now)
// and overlaps none of:
//   - the period of any stored report (provisional ones included): what a report
//     showed stays in the store;
//   - the current quarter and the previous one (a quarter's reports are built after it
//     closes and settles);
//   - any closed quarter the `reports` job would still build (quarterly-reports.ts,
//     pendingQuarters: a store whose reports failed or were never built keeps them).
// Unset retention = keep forever: nothing is archived.
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import {
  archivePartitions,
  type ArchiveRunOutcome,
  type ArchiveStep,
  type MonthlyPartition,
  type ProtectedPeriod,
  restoreArchive,
  type RestoreOutcome,
  retentionHorizon,
} from '../store/archive.js';
import type { Store } from '../store/database.js';
import { withStoreLock } from './collection-run.js';
import { pendingQuarters, quarterOf } from './quarterly-reports.js';

export interface EvidenceArchiveDeps {
  store: Store;
  config: Config;
  logger: Logger;
  now: () => Date;
}

export interface EvidenceArchiveRun extends ArchiveRunOutcome {
  retentionMonths: number;
  horizon: Date;
  protectedPeriods: ProtectedPeriod[];
  archiveDir: string;
}

/** The periods whose evidence stays in the store whatever the retention. */
export async function protectedPeriods(store: Store, now: Date, settleHours: number): Promise<ProtectedPeriod[]> {
  const periods: ProtectedPeriod[] = [];
  const reports = await store.db.selectFrom('report').select(['id', 'period_from', 'period_to']).orderBy('period_from').execute();
  for (const report of reports)
    periods.push({ from: new Date(report.period_from), to: new Date(report.period_to), reason: `the period of report ${report.id}` });
  const current = quarterOf(now);
  const previous = quarterOf(new Date(current.from.getTime() - 1));
  periods.push({ ...current, reason: `the current quarter ${current.label}` });
  periods.push({ ...previous, reason: `the previous quarter ${previous.label} (its reports are built after it settles)` });
  for (const { quarter, frameworks } of await pendingQuarters(store.db, now, settleHours))
    periods.push({ ...quarter, reason: `quarter ${quarter.label}, whose ${frameworks.join(' and ')} report is not built yet` });
  return periods.map(({ from, to, reason }) => ({ from, to, reason }));
}

/** One archive run; undefined when no retention is set (evidence is kept forever). */
export async function runEvidenceArchive(
  deps: EvidenceArchiveDeps,
  options: { dryRun?: boolean; onStep?: (step: ArchiveStep, partition: MonthlyPartition) => Promise<void> | void } = {},
): Promise<EvidenceArchiveRun | undefined> {
  const months = deps.config.ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS;
  if (months === undefined) return undefined;
  // One run at a time across processes (the CLI and every `serve` on the store).
  return withStoreLock(deps.store, 'evidence archive', async () => {
    const now = deps.now();
    const horizon = retentionHorizon(now, months);
    const periods = await protectedPeriods(deps.store, now, deps.config.ACCESSTRAIL_REPORT_SETTLE_HOURS);
    const outcome = await archivePartitions({
      db: deps.store.db,
      archiveDir: deps.config.archiveDir,
      horizon,
      protectedPeriods: periods,
      dryRun: options.dryRun ?? false,
      logger: deps.logger,
      ...(options.onStep ? { onStep: options.onStep } : {}),
    });
    return { ...outcome, retentionMonths: months, horizon, protectedPeriods: periods, archiveDir: deps.config.archiveDir };
  });
}

/** Loads an archive file back into the store (for an audit of its months), under the
 *  same lock as the archive runs. */
export async function restoreEvidenceArchive(store: Store, file: string): Promise<RestoreOutcome> {
  return withStoreLock(store, 'evidence archive', () => restoreArchive(store.db, file));
}
