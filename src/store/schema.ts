// Kysely's view of the tables in migrations/. Column names stay snake_case here;
// repositories map them to camelCase models where services need them.
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = JSONColumnType<any, string, string>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface EvidenceManaged {
  batch_id: number;
  record_sha256: string;
}

interface EventBase extends EvidenceManaged {
  source_id: string;
  upstream_id: string;
  occurred_at: Timestamp;
  revision: Generated<number>;
  first_collected_at: Generated<Date>;
  last_collected_at: Generated<Date>;
  raw: Json;
}

/** An event table whose record the writer packs (migration 0012, record-codec.ts): raw is
 *  NULL in rows written since, raw_packed in rows written before. Read both through
 *  decodeStoredRow / storedRaw, never raw alone. */
interface PackedEventBase extends Omit<EventBase, 'raw'> {
  raw: Json | null;
  raw_packed: Buffer | null;
}

interface StateBase extends EvidenceManaged {
  source_id: string;
  upstream_id: string;
  observed_at: Timestamp;
  present: boolean;
  snapshot_id: number | null;
  raw: Json | null;
}

export interface SourceTable {
  id: string;
  kind: 'entra' | 'metabase';
  display_name: string;
  settings: Json;
  created_at: Generated<Date>;
}

export interface CollectionRunTable {
  id: Generated<number>;
  kind: 'collect' | 'import';
  requested: Json;
  status: 'running' | 'succeeded' | 'partial' | 'failed';
  started_at: Generated<Date>;
  finished_at: Timestamp | null;
  summary: Json;
  error: string | null;
}

export interface StreamCheckpointTable {
  source_id: string;
  stream: string;
  position: Json;
  run_id: number | null;
  updated_at: Generated<Date>;
}

export interface CoverageWindowTable {
  id: Generated<number>;
  source_id: string;
  stream: string;
  covered_from: Timestamp;
  covered_to: Timestamp;
  run_id: number | null;
  detail: Json;
  recorded_at: Generated<Date>;
}

export interface SourceCapabilityTable {
  source_id: string;
  capability: string;
  available: boolean;
  reason: string | null;
  observed_at: Generated<Date>;
  run_id: number | null;
}

export interface RetentionObservationTable {
  id: Generated<number>;
  source_id: string;
  stream: string;
  oldest_available_at: Timestamp | null;
  observed_at: Generated<Date>;
  run_id: number | null;
}

export interface QuarantinedRecordTable {
  id: Generated<number>;
  source_id: string;
  stream: string;
  upstream_id: string | null;
  reason: string;
  payload: string;
  run_id: number | null;
  received_at: Generated<Date>;
}

export interface EvidenceBatchTable {
  id: Generated<number>;
  source_id: string;
  target_table: string;
  run_id: number | null;
  row_count: number;
  content_sha256: string;
  previous_chain_sha256: string;
  chain_sha256: string;
  written_at: Timestamp;
}

export interface EvidenceRevisionTable {
  id: Generated<number>;
  target_table: string;
  source_id: string;
  upstream_key: string;
  batch_id: number;
  record_sha256: string;
  row_data: Json;
  superseded_at: Generated<Date>;
}

export interface SnapshotTable {
  id: Generated<number>;
  source_id: string;
  stream: string;
  observed_at: Timestamp;
  complete: Generated<boolean>;
  object_count: Generated<number>;
  run_id: number | null;
}

export interface SnapshotSeenTable {
  snapshot_id: number;
  upstream_id: string;
}

export interface EntraSignInTable extends PackedEventBase {
  user_id: string | null;
  user_principal_name: string | null;
  app_id: string | null;
  ip_address: string | null;
  error_code: number | null;
  is_interactive: boolean | null;
  event_types: string[] | null;
  authentication_requirement: string | null;
  risk_level_during_sign_in: string | null;
  risk_state: string | null;
  conditional_access_status: string | null;
  correlation_id: string | null;
  graph_version: string;
}

export interface EntraDirectoryAuditTable extends EventBase {
  activity: string;
  category: string | null;
  operation_type: string | null;
  result: string | null;
  initiated_by_user_id: string | null;
  initiated_by_app_id: string | null;
  target_ids: string[] | null;
}

/** Service principal / managed identity sign-ins (migration 0009). */
export interface EntraWorkloadSignInTable extends PackedEventBase {
  workload_kind: string;
  service_principal_id: string | null;
  service_principal_name: string | null;
  app_id: string | null;
  resource_id: string | null;
  ip_address: string | null;
  error_code: number | null;
  client_credential_type: string | null;
  credential_key_id: string | null;
  conditional_access_status: string | null;
  correlation_id: string | null;
}

export interface EntraUserVersionTable extends StateBase {
  user_principal_name: string | null;
  mail: string | null;
  other_mails: string[] | null;
  proxy_addresses: string[] | null;
  account_enabled: boolean | null;
  user_type: string | null;
  created_date_time: Timestamp | null;
  deleted_date_time: Timestamp | null;
  employee_leave_date_time: Timestamp | null;
}

export interface EntraGroupVersionTable extends StateBase {
  display_name: string | null;
}

export interface EntraGroupMemberVersionTable extends StateBase {
  group_id: string | null;
  member_id: string | null;
  member_type: string | null;
  transitive: boolean | null;
}

export interface EntraApplicationVersionTable extends StateBase {
  object_kind: string | null;
  app_id: string | null;
  display_name: string | null;
  redirect_uris: string[] | null;
}

export interface EntraAppRoleAssignmentVersionTable extends StateBase {
  principal_id: string | null;
  principal_type: string | null;
  resource_id: string | null;
  app_role_id: string | null;
}

export interface EntraCredentialVersionTable extends StateBase {
  owner_id: string | null;
  owner_kind: string | null;
  app_id: string | null;
  key_id: string | null;
  credential_type: string | null;
  display_name: string | null;
  start_date_time: Timestamp | null;
  end_date_time: Timestamp | null;
}

export interface MetabaseLoginTable extends PackedEventBase {
  user_id: number;
  session_key: string | null;
  device_id: string | null;
  ip_address: string | null;
}

export interface MetabaseSessionTable extends EventBase {
  user_id: number;
  auth_identity_id: number | null;
}

export interface MetabaseAuthIdentityTable extends EventBase {
  user_id: number;
  provider: string;
  provider_id: string | null;
  last_used_at: Timestamp | null;
}

export interface MetabaseQueryExecutionTable extends PackedEventBase {
  executor_id: number | null;
  context: string | null;
  card_id: number | null;
  dashboard_id: number | null;
  database_id: number | null;
  native: boolean | null;
  result_rows: number | null;
  running_time_ms: number | null;
  has_error: boolean | null;
  auth_method: string | null;
  ip_address: string | null;
}

export interface MetabaseViewTable extends PackedEventBase {
  user_id: number | null;
  model: string | null;
  model_id: number | null;
  has_access: boolean | null;
  context: string | null;
}

export interface MetabaseAuditEventTable extends EventBase {
  topic: string;
  user_id: number | null;
  model: string | null;
  model_id: number | null;
}

export interface MetabaseAccountVersionTable extends StateBase {
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  account_type: string | null;
  is_human: boolean | null;
  is_active: boolean | null;
  is_superuser: boolean | null;
  sso_source: string | null;
  date_joined: Timestamp | null;
  last_login: Timestamp | null;
  deactivated_at: Timestamp | null;
}

export interface MetabaseGroupVersionTable extends StateBase {
  name: string | null;
  magic_group_type: string | null;
}

export interface MetabaseMembershipVersionTable extends StateBase {
  user_id: number | null;
  group_id: number | null;
  is_group_manager: boolean | null;
}

export interface MetabaseApiKeyVersionTable extends StateBase {
  key_prefix: string | null;
  name: string | null;
  user_id: number | null;
  creator_id: number | null;
  created_at_source: Timestamp | null;
  scope: string | null;
}

export interface CorrelationRunTable {
  id: Generated<number>;
  period_from: Timestamp;
  period_to: Timestamp;
  as_of: Timestamp;
  parameters: Json;
  status: 'running' | 'succeeded' | 'failed';
  started_at: Generated<Date>;
  finished_at: Timestamp | null;
  summary: Json;
  purpose: Generated<'current' | 'report'>;
}

export interface ManualIdentityLinkTable {
  id: Generated<number>;
  metabase_source_id: string;
  account_id: number;
  person_id: string;
  created_by: string;
  reason: string;
  created_at: Generated<Date>;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
}

export interface IdentityLinkTable {
  metabase_source_id: string;
  account_id: number;
  status: 'linked' | 'ambiguous' | 'unmatched' | 'non-human';
  person_id: string | null;
  entra_source_id: string | null;
  method: string | null;
  matched_value: string | null;
  candidates: string[] | null;
  run_id: number;
}

export interface LoginMatchTable {
  metabase_source_id: string;
  login_id: string;
  login_at: Timestamp;
  account_id: number;
  person_id: string | null;
  sign_in_source_id: string | null;
  sign_in_id: string | null;
  sign_in_at: Timestamp | null;
  lag_seconds: number | null;
  same_ip: boolean | null;
  outcome: string;
  run_id: number;
}

export interface RuleEvaluationTable {
  run_id: number;
  rule: string;
  status: 'evaluated' | 'not-evaluable';
  reason: string | null;
  parameters: Json;
  finding_count: number;
  detail: Json;
  seconds: number | null;
}

export interface FindingTable {
  run_id: number;
  id: string;
  rule: string;
  severity: 'high' | 'medium' | 'low';
  person_id: string | null;
  upn: string | null;
  account_id: string | null;
  email: string | null;
  credential_id: string | null;
  subject_source: string | null;
  summary: string;
  first_seen: Timestamp | null;
  last_seen: Timestamp | null;
  evidence: Json;
  detail: Json;
  /** The finding as GET /v1/findings serves it (migration 0017); null for findings
   *  stored before it (src/correlation/finding-json.ts). */
  api_json: string | null;
}

export interface PersonTerminatedIntervalTable {
  run_id: number;
  entra_source_id: string;
  person_id: string;
  started_at: Timestamp;
  ended_at: Timestamp | null;
  reason: string;
  approximate: boolean;
  evidence: Json;
}

export interface ReportTable {
  id: string;
  framework: string;
  period_from: Timestamp;
  period_to: Timestamp;
  as_of: Timestamp;
  generated_at: Timestamp;
  provisional: boolean;
  content_sha256: string;
  signature: Json;
  content: Json;
  created_at: Generated<Date>;
  /** The canonical JSON of `content` as the API serves it, and its SHA-256 (the ETag);
   *  written on the report's first read (migration 0011). */
  content_json: string | null;
  content_json_sha256: string | null;
  /** The correlation run that evaluated the report's rules (migration 0014); null for
   *  reports stored before it. */
  correlation_run_id: number | null;
}

export interface ReportRenderingTable {
  report_id: string;
  format: string;
  name: string;
  sha256: string;
  bytes: number;
}

export interface ApiKeyTable {
  id: string;
  name: string;
  key_sha256: string;
  key_prefix: string;
  scopes: string[];
  created_at: Generated<Date>;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
  /** Refused from this instant on; null: no expiry (migration 0015). */
  expires_at: Timestamp | null;
}

/** The web console's sessions (migration 0007): only the SHA-256 of the cookie's id. */
export interface ConsoleSessionTable {
  id_sha256: string;
  subject: string;
  tenant_id: string | null;
  display_name: string | null;
  username: string | null;
  role: 'viewer' | 'reviewer' | 'admin';
  csrf_token: string;
  created_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  expires_at: Timestamp;
  ended_at: Timestamp | null;
}

/** Console sign-ins in progress (state, nonce, PKCE verifier), redeemed once. */
export interface ConsoleSignInTable {
  id_sha256: string;
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  created_at: Generated<Date>;
  expires_at: Timestamp;
}

/** An archived monthly partition of an evidence table (migration 0013, src/store/archive.ts). */
export interface EvidenceArchiveTable {
  id: Generated<number>;
  table_name: string;
  partition_name: string;
  month_from: Timestamp;
  month_to: Timestamp;
  row_count: number;
  file_name: string;
  file_sha256: string;
  file_bytes: number;
  manifest_sha256: string;
  sources: Json;
  archived_at: Generated<Date>;
  restored_at: Timestamp | null;
}

/** Rows of an evidence batch held by an archive. */
export interface EvidenceArchiveBatchTable {
  archive_id: number;
  batch_id: number;
  row_count: number;
}

export interface Database {
  source: SourceTable;
  collection_run: CollectionRunTable;
  stream_checkpoint: StreamCheckpointTable;
  coverage_window: CoverageWindowTable;
  source_capability: SourceCapabilityTable;
  retention_observation: RetentionObservationTable;
  quarantined_record: QuarantinedRecordTable;
  evidence_batch: EvidenceBatchTable;
  evidence_revision: EvidenceRevisionTable;
  snapshot: SnapshotTable;
  snapshot_seen: SnapshotSeenTable;
  entra_sign_in: EntraSignInTable;
  entra_directory_audit: EntraDirectoryAuditTable;
  entra_workload_sign_in: EntraWorkloadSignInTable;
  entra_user_version: EntraUserVersionTable;
  entra_group_version: EntraGroupVersionTable;
  entra_group_member_version: EntraGroupMemberVersionTable;
  entra_application_version: EntraApplicationVersionTable;
  entra_app_role_assignment_version: EntraAppRoleAssignmentVersionTable;
  entra_credential_version: EntraCredentialVersionTable;
  metabase_login: MetabaseLoginTable;
  metabase_session: MetabaseSessionTable;
  metabase_auth_identity: MetabaseAuthIdentityTable;
  metabase_query_execution: MetabaseQueryExecutionTable;
  metabase_view: MetabaseViewTable;
  metabase_audit_event: MetabaseAuditEventTable;
  metabase_account_version: MetabaseAccountVersionTable;
  metabase_group_version: MetabaseGroupVersionTable;
  metabase_membership_version: MetabaseMembershipVersionTable;
  metabase_api_key_version: MetabaseApiKeyVersionTable;
  correlation_run: CorrelationRunTable;
  manual_identity_link: ManualIdentityLinkTable;
  identity_link: IdentityLinkTable;
  login_match: LoginMatchTable;
  rule_evaluation: RuleEvaluationTable;
  finding: FindingTable;
  person_terminated_interval: PersonTerminatedIntervalTable;
  report: ReportTable;
  report_rendering: ReportRenderingTable;
  api_key: ApiKeyTable;
  console_session: ConsoleSessionTable;
  console_sign_in: ConsoleSignInTable;
  evidence_archive: EvidenceArchiveTable;
  evidence_archive_batch: EvidenceArchiveBatchTable;
}
