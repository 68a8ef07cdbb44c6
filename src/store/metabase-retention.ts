// What Metabase's own retention can have deleted, recorded per source so log-gap can tell
// "retention truncated the log" from "the table simply has few rows".
//
// Facts (metabase/metabase):
// - `audit-max-retention-days` (env MB_AUDIT_MAX_RETENTION_DAYS): unset = 720 days, 0 =
//   keep forever, 1..29 read as 30 (src/metabase/audit_app/settings.clj @085817cffb3d;
//   the same defaults in the older src/metabase/task/truncate_audit_tables.clj @061b267c).
//   `:setter :none`: the app cannot write it, so it normally comes from the environment;
//   a row in the `setting` table is read as Metabase's getter would.
// - The job runs every 12 hours and deletes rows older than the cutoff
//   (src/metabase/audit_app/task/truncate_audit_tables.clj @0d8d2237).
// - OSS truncates only query_execution; with the audit-app feature (Pro/Enterprise)
//   also audit_log and view_log (enterprise/.../audit_app/task/truncate_audit_tables.clj
//   @00f84ab8). login_history is never truncated by it.

/** Metabase's default, minimum, and the job's period. */
export const METABASE_DEFAULT_RETENTION_DAYS = 720;
export const METABASE_MIN_RETENTION_DAYS = 30;
export const TRUNCATION_JOB_PERIOD_HOURS = 12;

export type RetentionBasis = 'config' | 'setting-table' | 'default';

/** Stored in source.settings.retention (JSON). */
export interface MetabaseRetentionFacts {
  /** Effective days; null = kept forever (0 configured). */
  days: number | null;
  basis: RetentionBasis;
  /** The raw configured value, when one was configured. */
  configured: number | null;
  /** Tables this edition truncates. */
  truncatedTables: string[];
  /** 'oss' when the audit-app feature is known absent, 'audit-app' when present, else 'unknown' (then all three are assumed). */
  edition: 'oss' | 'audit-app' | 'unknown';
  /** Earliest sign of the instance: its first Liquibase migration or first account. */
  firstActivityAt: string | null;
  /** The collector's clock when these facts and the oldest rows were read (the cutoff's reference). */
  observedAt: string;
}

/** Metabase's getter: nil → 720, 0 → forever, below 30 → 30. */
export function effectiveRetentionDays(configured: number | null): number | null {
  if (configured === null || !Number.isFinite(configured)) return METABASE_DEFAULT_RETENTION_DAYS;
  if (configured === 0) return null;
  return Math.max(Math.floor(configured), METABASE_MIN_RETENTION_DAYS);
}

export function retentionFacts(input: {
  fromConfig: number | undefined;
  /** The `setting` row's text, when the table was readable and the row exists. */
  fromSettingTable: string | null;
  auditApp: boolean | null;
  firstActivityAt: Date | null;
  observedAt: Date;
}): MetabaseRetentionFacts {
  const tableValue = input.fromSettingTable !== null && /^\s*\d+\s*$/.test(input.fromSettingTable) ? Number(input.fromSettingTable) : null;
  const configured = input.fromConfig ?? tableValue;
  const basis: RetentionBasis = input.fromConfig !== undefined ? 'config' : tableValue !== null ? 'setting-table' : 'default';
  const edition = input.auditApp === false ? 'oss' : input.auditApp === true ? 'audit-app' : 'unknown';
  return {
    days: effectiveRetentionDays(configured),
    basis,
    configured,
    truncatedTables: edition === 'oss' ? ['query_execution'] : ['query_execution', 'audit_log', 'view_log'],
    edition,
    firstActivityAt: input.firstActivityAt && !Number.isNaN(input.firstActivityAt.getTime()) ? input.firstActivityAt.toISOString() : null,
    observedAt: input.observedAt.toISOString(),
  };
}
