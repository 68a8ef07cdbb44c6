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

/** The evidence table a coverage stream's rows are stored in; an import's stream adds a
 *  `:<kind>` suffix to the collector's (entra-sign-ins:interactive). */
const streamTables: Record<string, string> = {
  [streams.entraSignIns]: 'entra_sign_in',
  [streams.entraDirectoryAudits]: 'entra_directory_audit',
  'entra-workload-sign-ins': 'entra_workload_sign_in',
  [streams.metabaseLogins]: 'metabase_login',
  [streams.metabaseQueryExecutions]: 'metabase_query_execution',
  [streams.metabaseViews]: 'metabase_view',
  [streams.metabaseAuditEvents]: 'metabase_audit_event',
  [streams.metabaseSessions]: 'metabase_session',
};

export function tableOfStream(stream: string): string | undefined {
  return streamTables[stream.split(':')[0]!];
}

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

/** What the REST path cannot see, as column capabilities (read from metabase/metabase:
 *  GET /api/user selects only `type = 'personal'` accounts (users/models/user.clj
 *  filter-clauses) with the admin-visible columns, which include neither `type` nor
 *  `deactivated_at`; GET /api/api-key (api_keys/api.clj @06f5232be2d4) selects only keys
 *  with scope NULL and returns id, name, group, masked_key, created_at, updated_at,
 *  updated_by). The report lists these under the source; rules that need them say so. */
export const metabaseApiLimits: ReadonlyArray<{ table: string; column: string; available: boolean; reason: string }> = [
  {
    table: 'core_user',
    column: 'type',
    available: false,
    reason:
      'GET /api/user lists only personal accounts and returns no type: API-key service users and the internal user are not listed (their memberships are)',
  },
  {
    table: 'core_user',
    column: 'deactivated_at',
    available: false,
    reason: 'GET /api/user returns no deactivated_at: when an account was deactivated is known only from our snapshots',
  },
  {
    table: 'api_key',
    column: 'user_id',
    available: false,
    reason: 'GET /api/api-key returns no user_id: a key is not tied to its service account',
  },
  {
    table: 'api_key',
    column: 'creator_id',
    available: false,
    reason: 'GET /api/api-key returns no creator_id: who created a key is unknown',
  },
  {
    table: 'api_key',
    column: 'key_prefix',
    available: true,
    reason: 'GET /api/api-key returns no key_prefix; it is read from masked_key (the prefix followed by asterisks)',
  },
  {
    table: 'api_key',
    column: 'scope',
    available: false,
    reason: 'GET /api/api-key lists only keys with scope NULL: scoped (SCIM) keys are not listed, so their age is not evaluable',
  },
];
