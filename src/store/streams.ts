// Names shared by the collectors (which record coverage, checkpoints and capabilities
// under them) and the rules (which read them). Change only by adding.

/** Source ids: one per Entra tenant, one per Metabase instance. */
export const entraSourceId = (tenantId: string) => `entra:${tenantId.toLowerCase()}`;
export const metabaseSourceId = (instance: string) => `metabase:${instance.toLowerCase()}`;

/** Event streams with time coverage (coverage_window.stream). */
export const streams = {
  entraSignIns: 'entra-sign-ins',
  entraDirectoryAudits: 'entra-directory-audits',
  metabaseLogins: 'metabase-logins', // login_history
  metabaseQueryExecutions: 'metabase-query-executions',
  metabaseViews: 'metabase-views', // view_log
  metabaseAuditEvents: 'metabase-audit-events', // audit_log
  metabaseSessions: 'metabase-sessions', // core_session (+ auth_identity)
} as const;

/** source_capability.capability values. available = false makes dependent rules not evaluable. */
export const capabilities = {
  /** Sign-ins came from beta (authenticationRequirement, authenticationDetails, event types). */
  entraSignInsBeta: 'entra-sign-ins-beta',
  /** Risk fields are real (P2), not `hidden`. */
  entraRiskFields: 'entra-risk-fields',
  /** employeeLeaveDateTime readable (User-LifeCycleInfo.Read.All). */
  entraLeaveDates: 'entra-leave-dates',
  /** A Metabase table exists and is readable: `metabase-table:<name>`. */
  metabaseTable: (table: string) => `metabase-table:${table}`,
  /** Login history can only come from the application database, never from the API. */
  metabaseLoginHistory: 'metabase-login-history',
  /** A notable Metabase column exists in this version, e.g. `metabase-column:query_execution.auth_method`. */
  metabaseColumn: (table: string, column: string) => `metabase-column:${table}.${column}`,
} as const;
