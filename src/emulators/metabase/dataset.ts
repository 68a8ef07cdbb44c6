// A plain description of a Metabase application database's content: rows per table with
// Metabase's real column names. createMetabaseAppDatabase loads it (columns a version
// lacks are left out); the API emulator serves it. generateMetabaseDataset builds a
// coherent one (users, an API key with its service user, the internal user, logins with
// their sessions, queries, views, audit events) from a seed.
import { createHash } from 'node:crypto';

import { seededRandom } from '../seeded-random.js';

/** A time as a Date or an ISO string. */
export type Instant = Date | string;

export interface CoreUserRow {
  id: number;
  email: string;
  first_name?: string | null;
  last_name?: string | null;
  password?: string | null;
  password_salt?: string | null;
  date_joined: Instant;
  last_login?: Instant | null;
  is_superuser?: boolean;
  is_active?: boolean;
  reset_token?: string | null;
  reset_triggered?: number | null;
  login_attributes?: string | null;
  updated_at?: Instant | null;
  sso_source?: string | null;
  locale?: string | null;
  /** v49+: personal | internal | api-key */
  type?: string;
  entity_id?: string | null;
  /** v53+ */
  deactivated_at?: Instant | null;
  jwt_attributes?: string | null;
  tenant_id?: number | null;
  totp_secret?: string | null;
  totp_enabled?: boolean;
  totp_recovery_codes?: string | null;
}

export interface LoginHistoryRow {
  id: number;
  timestamp: Instant;
  user_id: number;
  session_id?: string | null;
  device_id: string;
  device_description: string;
  ip_address: string;
}

export interface CoreSessionRow {
  /** Before v54 this is the live session token. */
  id: string;
  user_id: number;
  created_at: Instant;
  anti_csrf_token?: string | null;
  key_hashed?: string | null;
  auth_identity_id?: number | null;
  expires_at?: Instant | null;
}

export interface AuthIdentityRow {
  id: number;
  user_id: number;
  provider: string;
  provider_id?: string | null;
  credentials?: string | null;
  metadata?: string | null;
  last_used_at?: Instant | null;
  expires_at?: Instant | null;
  created_at: Instant;
  updated_at: Instant;
}

export interface QueryExecutionRow {
  id: number;
  /** Normalised-query hash: bytes, or hex. */
  hash: Uint8Array | string;
  started_at: Instant;
  running_time: number;
  result_rows: number;
  native: boolean;
  context?: string | null;
  error?: string | null;
  executor_id?: number | null;
  card_id?: number | null;
  dashboard_id?: number | null;
  pulse_id?: number | null;
  database_id?: number | null;
  cache_hit?: boolean | null;
  action_id?: number | null;
  is_sandboxed?: boolean | null;
  embedding_client?: string | null;
  embedding_version?: string | null;
  parameterized?: boolean | null;
  auth_method?: string | null;
  parameters?: string | null;
  user_agent?: string | null;
  ip_address?: string | null;
  metabase_version?: string | null;
}

export interface ViewLogRow {
  id: number;
  user_id?: number | null;
  model: string;
  model_id: number;
  timestamp: Instant;
  metadata?: string | null;
  has_access?: boolean | null;
  context?: string | null;
  auth_method?: string | null;
  ip_address?: string | null;
  user_agent?: string | null;
}

export interface AuditLogRow {
  id: number;
  topic: string;
  timestamp: Instant;
  end_timestamp?: Instant | null;
  user_id?: number | null;
  model?: string | null;
  model_id?: number | null;
  /** JSON text (NOT NULL upstream). */
  details: string;
}

export interface PermissionsGroupRow {
  id: number;
  name: string;
  entity_id?: string | null;
  magic_group_type?: string | null;
  is_tenant_group?: boolean;
}

export interface PermissionsGroupMembershipRow {
  id: number;
  user_id: number;
  group_id: number;
  is_group_manager?: boolean;
}

export interface ApiKeyRow {
  id: number;
  user_id?: number | null;
  /** bcrypt hash of the key. */
  key: string;
  key_prefix: string;
  creator_id: number;
  created_at: Instant;
  updated_at: Instant;
  name: string;
  updated_by_id: number;
  scope?: string | null;
}

/** Metabase's `setting` table (key/value text). */
export interface SettingRow {
  key: string;
  value: string;
}

export interface MetabaseDataset {
  /** Optional: most fixtures hold no settings. */
  setting?: SettingRow[];
  core_user: CoreUserRow[];
  login_history: LoginHistoryRow[];
  core_session: CoreSessionRow[];
  auth_identity: AuthIdentityRow[];
  query_execution: QueryExecutionRow[];
  view_log: ViewLogRow[];
  audit_log: AuditLogRow[];
  permissions_group: PermissionsGroupRow[];
  permissions_group_membership: PermissionsGroupMembershipRow[];
  api_key: ApiKeyRow[];
}

export type MetabaseTableName = keyof MetabaseDataset;

/** Load order: parents before children. */
export const datasetTables: readonly MetabaseTableName[] = [
  'setting',
  'core_user',
  'permissions_group',
  'permissions_group_membership',
  'auth_identity',
  'core_session',
  'login_history',
  'query_execution',
  'view_log',
  'audit_log',
  'api_key',
];

export const emptyDataset = (): MetabaseDataset => ({
  core_user: [],
  login_history: [],
  core_session: [],
  auth_identity: [],
  query_execution: [],
  view_log: [],
  audit_log: [],
  permissions_group: [],
  permissions_group_membership: [],
  api_key: [],
});

/** Metabase's internal user (CreateInternalUser migration). */
export const INTERNAL_USER_ID = 13371338;

export interface DatasetPerson {
  email: string;
  firstName: string;
  lastName: string;
  ssoSource?: string | null;
  isSuperuser?: boolean;
  isActive?: boolean;
}

export interface GenerateOptions {
  seed?: number;
  /** First day of activity. */
  start: Date;
  days: number;
  /** People to create; else `users` generated ones. */
  people?: DatasetPerson[];
  users?: number;
  loginsPerUserPerDay?: number;
  queriesPerLogin?: number;
  /** Metabase version the rows are shaped for (session ids: UUID keys before v54, random
   *  12-character ids with a separate hashed key from v54). Default 60. */
  version?: number;
}

const contexts = ['ad-hoc', 'question', 'dashboard', 'csv-download', 'collection'];
const devices = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15',
];

/** A coherent dataset: ids start at 1 per table, times within [start, start + days). */
export function generateMetabaseDataset(options: GenerateOptions): MetabaseDataset {
  const random = seededRandom(options.seed ?? 42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const hex = (bytes: number) =>
    Array.from({ length: bytes }, () =>
      Math.floor(random() * 256)
        .toString(16)
        .padStart(2, '0'),
    ).join('');
  const data = emptyDataset();
  const start = options.start.getTime();
  const day = 86_400_000;
  const at = (ms: number) => new Date(ms);

  const people: DatasetPerson[] =
    options.people ??
    Array.from({ length: options.users ?? 5 }, (_, i) => ({
      email: `user${i + 1}@example.com`,
      firstName: `User${i + 1}`,
      lastName: 'Example',
      ssoSource: i % 2 === 0 ? 'saml' : null,
      isSuperuser: i === 0,
    }));

  data.permissions_group.push(
    { id: 1, name: 'All Users', entity_id: hex(10).slice(0, 21), magic_group_type: 'all-internal-users' },
    { id: 2, name: 'Administrators', entity_id: hex(10).slice(0, 21), magic_group_type: 'admin' },
    { id: 3, name: 'Analysts', entity_id: hex(10).slice(0, 21), magic_group_type: null },
  );
  data.core_user.push({
    id: INTERNAL_USER_ID,
    email: 'internal@metabase.com',
    first_name: 'Metabase',
    last_name: 'Internal',
    date_joined: at(start - 30 * day),
    is_active: false,
    type: 'internal',
    password: '$2a$10$internalinternalinternal',
    password_salt: 'salt',
  });

  let membershipId = 0;
  let authIdentityId = 0;
  people.forEach((person, index) => {
    const userId = index + 1;
    const joined = start - 10 * day + index * 3_600_000;
    data.core_user.push({
      id: userId,
      email: person.email,
      first_name: person.firstName,
      last_name: person.lastName,
      password: `$2a$10$${hex(16)}`,
      password_salt: hex(8),
      date_joined: at(joined),
      is_superuser: person.isSuperuser ?? false,
      is_active: person.isActive ?? true,
      sso_source: person.ssoSource ?? null,
      login_attributes: person.ssoSource === 'saml' ? JSON.stringify({ department: index % 2 ? 'finance' : 'sales' }) : null,
      updated_at: at(joined),
      type: 'personal',
      entity_id: hex(10).slice(0, 21),
      reset_token: index === 1 ? `$2a$10$reset${hex(8)}` : null,
      totp_secret: index === 0 ? 'JBSWY3DPEHPK3PXP' : null,
      deactivated_at: person.isActive === false ? at(start + options.days * day - day) : null,
    });
    data.permissions_group_membership.push({ id: ++membershipId, user_id: userId, group_id: 1, is_group_manager: false });
    if (person.isSuperuser)
      data.permissions_group_membership.push({ id: ++membershipId, user_id: userId, group_id: 2, is_group_manager: false });
    if (index % 3 === 1)
      data.permissions_group_membership.push({ id: ++membershipId, user_id: userId, group_id: 3, is_group_manager: index === 1 });
    data.auth_identity.push({
      id: ++authIdentityId,
      user_id: userId,
      provider: person.ssoSource ?? 'password',
      provider_id: person.email.toLowerCase(),
      credentials: person.ssoSource ? null : JSON.stringify({ password_hash: `$2a$10$${hex(16)}` }),
      metadata: '{}',
      created_at: at(joined),
      updated_at: at(joined),
      last_used_at: null,
    });
    data.audit_log.push({
      id: data.audit_log.length + 1,
      topic: 'user-joined',
      timestamp: at(joined + 60_000),
      user_id: userId,
      model: 'User',
      model_id: userId,
      details: JSON.stringify({ email: person.email, first_name: person.firstName, sso_source: person.ssoSource ?? null }),
    });
  });

  // An API key and its service user (email api-key-user-<uuid>@api-key.invalid).
  const keyUserId = people.length + 1;
  data.core_user.push({
    id: keyUserId,
    email: `api-key-user-${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}@api-key.invalid`,
    first_name: 'Reporting key',
    last_name: null,
    date_joined: at(start - day),
    is_active: true,
    type: 'api-key',
    password: `$2a$10$${hex(16)}`,
  });
  data.permissions_group_membership.push({ id: ++membershipId, user_id: keyUserId, group_id: 1, is_group_manager: false });
  data.api_key.push({
    id: 1,
    user_id: keyUserId,
    key: `$2a$12$${hex(20)}`,
    key_prefix: `mb_${hex(2)}`,
    creator_id: 1,
    created_at: at(start - day),
    updated_at: at(start - day),
    name: 'Reporting key',
    updated_by_id: 1,
    scope: null,
  });

  const loginsPerDay = options.loginsPerUserPerDay ?? 1;
  const queriesPerLogin = options.queriesPerLogin ?? 2;
  for (let d = 0; d < options.days; d++) {
    people.forEach((person, index) => {
      if (person.isActive === false && d >= options.days - 1) return;
      const userId = index + 1;
      for (let l = 0; l < loginsPerDay; l++) {
        const loginAt = start + d * day + 8 * 3_600_000 + index * 600_000 + l * 3_600_000 + Math.floor(random() * 300_000);
        // Before v54 the id is the session key itself (a UUID); from v54 a random
        // 12-character id and key_hashed = SHA-512 of a separate key.
        const modernSessions = (options.version ?? 60) >= 54;
        const sessionId = modernSessions ? hex(6) : `${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}`;
        const identity = data.auth_identity.find((a) => a.user_id === userId);
        data.core_session.push({
          id: sessionId,
          user_id: userId,
          created_at: at(loginAt),
          ...(modernSessions
            ? {
                key_hashed: createHash('sha512')
                  .update(`${hex(16)}`)
                  .digest('hex'),
              }
            : {}),
          anti_csrf_token: null,
          auth_identity_id: identity?.id ?? null,
          expires_at: at(loginAt + 14 * day),
        });
        data.login_history.push({
          id: data.login_history.length + 1,
          timestamp: at(loginAt),
          user_id: userId,
          session_id: sessionId,
          device_id: `${hex(4)}-${hex(2)}-${hex(2)}-${hex(2)}-${hex(6)}`,
          device_description: pick(devices),
          ip_address: `198.51.100.${10 + index}`,
        });
        for (let q = 0; q < queriesPerLogin; q++) {
          const startedAt = loginAt + (q + 1) * 120_000;
          const cardId = 1 + Math.floor(random() * 20);
          data.query_execution.push({
            id: data.query_execution.length + 1,
            hash: hex(32),
            started_at: at(startedAt),
            running_time: 20 + Math.floor(random() * 2000),
            result_rows: Math.floor(random() * 500),
            native: random() < 0.3,
            context: pick(contexts),
            error: random() < 0.05 ? 'ERROR: relation "orders" does not exist' : null,
            executor_id: userId,
            card_id: cardId,
            dashboard_id: random() < 0.5 ? 1 + Math.floor(random() * 5) : null,
            database_id: 2,
            cache_hit: false,
            auth_method: person.ssoSource ?? 'password',
            ip_address: `198.51.100.${10 + index}`,
          });
          data.view_log.push({
            id: data.view_log.length + 1,
            user_id: userId,
            model: 'card',
            model_id: cardId,
            timestamp: at(startedAt - 1000),
            has_access: true,
            context: 'question',
            auth_method: person.ssoSource ?? 'password',
          });
        }
      }
    });
    // Traffic of the API key (no login, no session) and an anonymous public-link run.
    const cardRun = (
      hour: number,
      run: { running_time: number; result_rows: number; context: string; executor_id: number | null; card_id: number; auth_method: string },
    ) =>
      data.query_execution.push({
        id: data.query_execution.length + 1,
        hash: hex(32),
        started_at: at(start + d * day + hour * 3_600_000),
        running_time: run.running_time,
        result_rows: run.result_rows,
        native: false,
        context: run.context,
        executor_id: run.executor_id,
        card_id: run.card_id,
        database_id: 2,
        auth_method: run.auth_method,
      });
    cardRun(6, { running_time: 300, result_rows: 10, context: 'question', executor_id: keyUserId, card_id: 1, auth_method: 'api-key' });
    cardRun(7, { running_time: 150, result_rows: 3, context: 'public-question', executor_id: null, card_id: 2, auth_method: 'public' });
  }
  data.audit_log.push({
    id: data.audit_log.length + 1,
    topic: 'card-create',
    timestamp: at(start + 3_600_000),
    user_id: 1,
    model: 'Card',
    model_id: 1,
    details: JSON.stringify({ name: 'Revenue', description: null }),
  });
  data.audit_log.push({
    id: data.audit_log.length + 1,
    topic: 'api-key-create',
    timestamp: at(start - day + 1000),
    user_id: 1,
    model: 'ApiKey',
    model_id: 1,
    details: JSON.stringify({ name: 'Reporting key', key_prefix: data.api_key[0]!.key_prefix }),
  });
  // Rows must sit in id order of time for the logs Metabase appends to.
  sortAndRenumber(data.login_history, (r) => r.timestamp);
  sortAndRenumber(data.query_execution, (r) => r.started_at);
  sortAndRenumber(data.view_log, (r) => r.timestamp);
  sortAndRenumber(data.audit_log, (r) => r.timestamp);
  return data;
}

function sortAndRenumber<T extends { id: number }>(rows: T[], time: (row: T) => Instant): void {
  rows.sort((a, b) => new Date(time(a)).getTime() - new Date(time(b)).getTime());
  rows.forEach((row, i) => {
    row.id = i + 1;
  });
}
