// Describes the evidence tables of migrations/0001 to the generic bulk writer
// (evidence.repository.ts) and to the chain verifier (chain.ts). Adding an evidence
// table = a migration + an entry here. Only the normalised columns are listed; the
// managed columns (batch_id, record_sha256, revision, ...) are the writer's business.

export type ColumnType = 'text' | 'text[]' | 'timestamptz' | 'boolean' | 'integer' | 'bigint';

export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
}

/** Events: upserted by (source_id, upstream_id[, occurred_at]); revisions archived. */
export interface EventTableSpec {
  readonly kind: 'event';
  readonly name: string;
  /** Partitioned by month on occurred_at (the key then includes occurred_at). */
  readonly partitioned: boolean;
  /** Every normalised column, in the order the record hash covers them (record-hash.ts). */
  readonly columns: readonly ColumnSpec[];
  /** Migration 0012: the record is stored compressed in `raw_packed` (record-codec.ts,
   *  dictionary `format`) together with these columns, which only repeat the record and
   *  which no query reads; their own columns stay NULL (rows written before 0012 keep
   *  them filled, with `raw`). The record hash is the same either way. */
  readonly packed?: { readonly format: number; readonly columns: readonly string[] };
}

/** Directory state: one row per observed version (source_id, upstream_id, observed_at). */
export interface StateTableSpec {
  readonly kind: 'state';
  readonly name: string;
  readonly columns: readonly ColumnSpec[];
}

export type EvidenceTableSpec = EventTableSpec | StateTableSpec;

const c = (name: string, type: ColumnType): ColumnSpec => ({ name, type });

export const eventTables = {
  entra_sign_in: {
    kind: 'event',
    name: 'entra_sign_in',
    partitioned: true,
    columns: [
      c('user_id', 'text'),
      c('user_principal_name', 'text'),
      c('app_id', 'text'),
      c('ip_address', 'text'),
      c('error_code', 'integer'),
      c('is_interactive', 'boolean'),
      c('event_types', 'text[]'),
      c('authentication_requirement', 'text'),
      c('risk_level_during_sign_in', 'text'),
      c('risk_state', 'text'),
      c('conditional_access_status', 'text'),
      c('correlation_id', 'text'),
      c('graph_version', 'text'),
    ],
    packed: { format: 1, columns: ['is_interactive', 'event_types', 'conditional_access_status', 'correlation_id'] },
  },
  entra_directory_audit: {
    kind: 'event',
    name: 'entra_directory_audit',
    partitioned: false,
    columns: [
      c('activity', 'text'),
      c('category', 'text'),
      c('operation_type', 'text'),
      c('result', 'text'),
      c('initiated_by_user_id', 'text'),
      c('initiated_by_app_id', 'text'),
      c('target_ids', 'text[]'),
    ],
  },
  // Service principal and managed identity sign-ins (imports; migration 0009).
  entra_workload_sign_in: {
    kind: 'event',
    name: 'entra_workload_sign_in',
    partitioned: false,
    columns: [
      c('workload_kind', 'text'),
      c('service_principal_id', 'text'),
      c('service_principal_name', 'text'),
      c('app_id', 'text'),
      c('resource_id', 'text'),
      c('ip_address', 'text'),
      c('error_code', 'integer'),
      c('client_credential_type', 'text'),
      c('credential_key_id', 'text'),
      c('conditional_access_status', 'text'),
      c('correlation_id', 'text'),
    ],
    packed: {
      format: 5,
      columns: ['service_principal_name', 'resource_id', 'client_credential_type', 'conditional_access_status', 'correlation_id'],
    },
  },
  metabase_login: {
    kind: 'event',
    name: 'metabase_login',
    partitioned: false,
    columns: [c('user_id', 'bigint'), c('session_key', 'text'), c('device_id', 'text'), c('ip_address', 'text')],
    packed: { format: 3, columns: ['device_id'] },
  },
  metabase_session: {
    kind: 'event',
    name: 'metabase_session',
    partitioned: false,
    columns: [c('user_id', 'bigint'), c('auth_identity_id', 'bigint')],
  },
  metabase_auth_identity: {
    kind: 'event',
    name: 'metabase_auth_identity',
    partitioned: false,
    columns: [c('user_id', 'bigint'), c('provider', 'text'), c('provider_id', 'text'), c('last_used_at', 'timestamptz')],
  },
  metabase_query_execution: {
    kind: 'event',
    name: 'metabase_query_execution',
    partitioned: true,
    columns: [
      c('executor_id', 'bigint'),
      c('context', 'text'),
      c('card_id', 'bigint'),
      c('dashboard_id', 'bigint'),
      c('database_id', 'bigint'),
      c('native', 'boolean'),
      c('result_rows', 'integer'),
      c('running_time_ms', 'integer'),
      c('has_error', 'boolean'),
      c('auth_method', 'text'),
      c('ip_address', 'text'),
    ],
    packed: {
      format: 2,
      columns: ['card_id', 'dashboard_id', 'database_id', 'native', 'result_rows', 'running_time_ms', 'auth_method', 'ip_address'],
    },
  },
  metabase_view: {
    kind: 'event',
    name: 'metabase_view',
    partitioned: false,
    columns: [c('user_id', 'bigint'), c('model', 'text'), c('model_id', 'bigint'), c('has_access', 'boolean'), c('context', 'text')],
    packed: { format: 4, columns: ['model', 'model_id', 'has_access', 'context'] },
  },
  metabase_audit_event: {
    kind: 'event',
    name: 'metabase_audit_event',
    partitioned: false,
    columns: [c('topic', 'text'), c('user_id', 'bigint'), c('model', 'text'), c('model_id', 'bigint')],
  },
} as const satisfies Record<string, EventTableSpec>;

export const stateTables = {
  entra_user_version: {
    kind: 'state',
    name: 'entra_user_version',
    columns: [
      c('user_principal_name', 'text'),
      c('mail', 'text'),
      c('other_mails', 'text[]'),
      c('proxy_addresses', 'text[]'),
      c('account_enabled', 'boolean'),
      c('user_type', 'text'),
      c('created_date_time', 'timestamptz'),
      c('deleted_date_time', 'timestamptz'),
      c('employee_leave_date_time', 'timestamptz'),
    ],
  },
  entra_group_version: {
    kind: 'state',
    name: 'entra_group_version',
    columns: [c('display_name', 'text')],
  },
  entra_group_member_version: {
    kind: 'state',
    name: 'entra_group_member_version',
    columns: [c('group_id', 'text'), c('member_id', 'text'), c('member_type', 'text'), c('transitive', 'boolean')],
  },
  entra_application_version: {
    kind: 'state',
    name: 'entra_application_version',
    columns: [c('object_kind', 'text'), c('app_id', 'text'), c('display_name', 'text'), c('redirect_uris', 'text[]')],
  },
  entra_app_role_assignment_version: {
    kind: 'state',
    name: 'entra_app_role_assignment_version',
    columns: [c('principal_id', 'text'), c('principal_type', 'text'), c('resource_id', 'text'), c('app_role_id', 'text')],
  },
  entra_credential_version: {
    kind: 'state',
    name: 'entra_credential_version',
    columns: [
      c('owner_id', 'text'),
      c('owner_kind', 'text'),
      c('app_id', 'text'),
      c('key_id', 'text'),
      c('credential_type', 'text'),
      c('display_name', 'text'),
      c('start_date_time', 'timestamptz'),
      c('end_date_time', 'timestamptz'),
    ],
  },
  metabase_account_version: {
    kind: 'state',
    name: 'metabase_account_version',
    columns: [
      c('email', 'text'),
      c('first_name', 'text'),
      c('last_name', 'text'),
      c('account_type', 'text'),
      c('is_human', 'boolean'),
      c('is_active', 'boolean'),
      c('is_superuser', 'boolean'),
      c('sso_source', 'text'),
      c('date_joined', 'timestamptz'),
      c('last_login', 'timestamptz'),
      c('deactivated_at', 'timestamptz'),
    ],
  },
  metabase_group_version: {
    kind: 'state',
    name: 'metabase_group_version',
    columns: [c('name', 'text'), c('magic_group_type', 'text')],
  },
  metabase_membership_version: {
    kind: 'state',
    name: 'metabase_membership_version',
    columns: [c('user_id', 'bigint'), c('group_id', 'bigint'), c('is_group_manager', 'boolean')],
  },
  metabase_api_key_version: {
    kind: 'state',
    name: 'metabase_api_key_version',
    columns: [
      c('key_prefix', 'text'),
      c('name', 'text'),
      c('user_id', 'bigint'),
      c('creator_id', 'bigint'),
      c('created_at_source', 'timestamptz'),
      c('scope', 'text'),
    ],
  },
} as const satisfies Record<string, StateTableSpec>;

export type EventTableName = keyof typeof eventTables;

/** The columns a table stores in columns of their own (all but the packed ones). */
export function storedColumns(spec: EvidenceTableSpec): readonly ColumnSpec[] {
  const packed = spec.kind === 'event' ? spec.packed?.columns : undefined;
  return packed ? spec.columns.filter((column) => !packed.includes(column.name)) : spec.columns;
}
export type StateTableName = keyof typeof stateTables;

export const allEvidenceTables: readonly EvidenceTableSpec[] = [...Object.values(eventTables), ...Object.values(stateTables)];

/** A row handed to the bulk writer: the natural id, the verbatim record, and the
 *  normalised columns of the table's spec (missing ones are stored as NULL). */
export interface EventRecord {
  readonly upstream_id: string;
  readonly occurred_at: Date;
  readonly raw: unknown;
  readonly [column: string]: unknown;
}

export interface StateRecord {
  readonly upstream_id: string;
  readonly raw: unknown;
  readonly [column: string]: unknown;
}
