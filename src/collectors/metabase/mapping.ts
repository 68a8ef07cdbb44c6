// Metabase rows (from the application database, the API or a usage-analytics export)
// into evidence records. Pure functions: each returns the record (or none) and the
// problems found, which the caller quarantines. Secrets never reach `raw`: session ids
// (the live token before v54) are replaced by their SHA-256, and password hashes, reset
// tokens, TOTP secrets, API key hashes and auth-identity credentials are dropped.
import { createHash } from 'node:crypto';

import type { EventRecord, StateRecord } from '../../store/tables.js';
import { type Mapped, readColumns } from '../types.js';

export type Row = Record<string, unknown>;

/** Metabase's internal user (CreateInternalUser migration). */
export const INTERNAL_USER_ID = 13371338;

/** Columns never read (the SELECT leaves them out) nor stored, per table. */
export const secretColumns: Readonly<Record<string, readonly string[]>> = {
  core_user: ['password', 'password_salt', 'reset_token', 'totp_secret', 'totp_recovery_codes'],
  core_session: ['key_hashed', 'anti_csrf_token'],
  auth_identity: ['credentials'],
  api_key: ['key', 'unmasked_key'],
};

/** Keys whose values are redacted inside JSON documents (audit_log.details records e.g. the hashed reset token). */
const secretKeyPattern =
  /^(password|password_salt|reset_token|totp_secret|totp_recovery_codes|key_hashed|session_id|api_key|unmasked_key|credentials|secret|token)$/i;

export const sha256Hex = (value: string): string => createHash('sha256').update(value).digest('hex');

/** Oldest instant accepted as a real Metabase time (Metabase dates from 2015). */
const EARLIEST_PLAUSIBLE = Date.UTC(2000, 0, 1);
/** Clock skew tolerated into the future. */
const FUTURE_TOLERANCE_MS = 24 * 3_600_000;

export function parseMetabaseInstant(value: unknown): Date | null {
  if (value === null || value === undefined || value === '') return null;
  const date = value instanceof Date ? value : new Date(typeof value === 'number' ? value : String(value));
  return date;
}

/** The problem with a timestamp, or null when it is plausible. */
export function timestampProblem(column: string, value: Date | null, now: Date): string | null {
  if (value === null) return `${column} is missing`;
  const ms = value.getTime();
  if (Number.isNaN(ms)) return `${column} is not a valid timestamp`;
  if (ms < EARLIEST_PLAUSIBLE) return `${column} ${value.toISOString()} is before 2000, impossible for Metabase`;
  if (ms > now.getTime() + FUTURE_TOLERANCE_MS) return `${column} ${value.toISOString()} is in the future`;
  return null;
}

const num = (value: unknown): number | null => {
  if (value === null || value === undefined || value === '') return null;
  const n = typeof value === 'number' ? value : Number(value);
  return Number.isFinite(n) ? n : null;
};
const str = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const bool = (value: unknown): boolean | null => {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  const text = String(value).toLowerCase();
  return text === 'true' || text === '1' || text === 't' || text === 'yes';
};

/** How a Metabase column is read, by the kind of value it holds. */
const metabaseReaders = { num, str, bool, instant: parseMetabaseInstant } as const;

/** The columns of `row` stored under their Metabase name, each read by its kind; columns
 *  that are derived or renamed (hashed session keys, running_time → running_time_ms) are
 *  written out by the mapper beside these. */
const sameNamed = (row: Row, columns: Partial<Record<keyof typeof metabaseReaders, readonly string[]>>) =>
  readColumns(row, metabaseReaders, columns, (name) => name);

/** JSON-safe copy of a row: bytes as hex, dates as ISO, bigint as number/string. */
export function plainRow(row: Row, drop: readonly string[] = []): Row {
  const out: Row = {};
  for (const [key, value] of Object.entries(row)) {
    if (drop.includes(key)) continue;
    if (value instanceof Date) out[key] = Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
    else if (Buffer.isBuffer(value) || value instanceof Uint8Array) out[key] = Buffer.from(value).toString('hex');
    else if (typeof value === 'bigint') out[key] = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
    else out[key] = value;
  }
  return out;
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value))
      out[key] = secretKeyPattern.test(key) && inner !== null ? '[redacted]' : redact(inner);
    return out;
  }
  return value;
}

/** Parses a JSON text column; on failure keeps the text and reports the problem. */
function parseJsonColumn(row: Row, column: string, problems: string[], table: string): unknown {
  const value = row[column];
  if (value === null || value === undefined) return value;
  if (typeof value !== 'string') return value;
  if (value.trim() === '') return null;
  try {
    return redact(JSON.parse(value));
  } catch (error) {
    problems.push(`${table}.${column} is not valid JSON (${(error as Error).message})`);
    return value;
  }
}

function event(occurredColumn: string, row: Row, now: Date, problems: string[]): Date | undefined {
  const at = parseMetabaseInstant(row[occurredColumn]);
  const problem = timestampProblem(occurredColumn, at, now);
  if (problem) {
    problems.push(problem);
    return undefined;
  }
  return at!;
}

/** An event row: its time (else only the problem), then its raw record and columns;
 *  `build` may add problems (an unreadable JSON column) to a record still stored. */
function eventRecord(
  row: Row,
  now: Date,
  timeColumn: string,
  build: (problems: string[]) => { raw: unknown; columns: Record<string, unknown>; upstreamId?: string },
): Mapped<EventRecord> {
  const problems: string[] = [];
  const at = event(timeColumn, row, now, problems);
  if (!at) return { problems };
  const { raw, columns, upstreamId } = build(problems);
  return { problems, record: { upstream_id: upstreamId ?? String(row['id']), occurred_at: at, raw, ...columns } };
}

export function mapLogin(row: Row, now: Date): Mapped<EventRecord> {
  return eventRecord(row, now, 'timestamp', () => {
    const sessionId = str(row['session_id']);
    const sessionKey = sessionId ? sha256Hex(sessionId) : null;
    return {
      raw: { ...plainRow(row, ['session_id']), session_key: sessionKey },
      columns: { ...sameNamed(row, { num: ['user_id'], str: ['device_id', 'ip_address'] }), session_key: sessionKey },
    };
  });
}

export function mapSession(row: Row, now: Date): Mapped<EventRecord> {
  return eventRecord(row, now, 'created_at', () => {
    const key = sha256Hex(String(row['id']));
    return {
      upstreamId: key,
      raw: { ...plainRow(row, ['id', ...secretColumns['core_session']!]), session_key: key },
      columns: sameNamed(row, { num: ['user_id', 'auth_identity_id'] }),
    };
  });
}

export function mapAuthIdentity(row: Row, now: Date): Mapped<EventRecord> {
  return eventRecord(row, now, 'created_at', (problems) => ({
    raw: { ...plainRow(row, secretColumns['auth_identity']), metadata: parseJsonColumn(row, 'metadata', problems, 'auth_identity') },
    columns: sameNamed(row, { num: ['user_id'], str: ['provider', 'provider_id'], instant: ['last_used_at'] }),
  }));
}

export function mapQueryExecution(row: Row, now: Date): Mapped<EventRecord> {
  return eventRecord(row, now, 'started_at', () => ({
    raw: plainRow(row),
    columns: {
      ...sameNamed(row, {
        num: ['executor_id', 'card_id', 'dashboard_id', 'database_id', 'result_rows'],
        str: ['context', 'auth_method', 'ip_address'],
        bool: ['native'],
      }),
      running_time_ms: num(row['running_time']),
      has_error: row['error'] !== null && row['error'] !== undefined && row['error'] !== '',
    },
  }));
}

export function mapView(row: Row, now: Date): Mapped<EventRecord> {
  return eventRecord(row, now, 'timestamp', (problems) => ({
    raw: { ...plainRow(row), metadata: parseJsonColumn(row, 'metadata', problems, 'view_log') },
    columns: sameNamed(row, { num: ['user_id', 'model_id'], str: ['model', 'context'], bool: ['has_access'] }),
  }));
}

export function mapAuditEvent(row: Row, now: Date): Mapped<EventRecord> {
  return eventRecord(row, now, 'timestamp', (problems) => ({
    raw: { ...plainRow(row), details: parseJsonColumn(row, 'details', problems, 'audit_log') },
    columns: { topic: str(row['topic']) ?? 'unknown', ...sameNamed(row, { num: ['user_id', 'model_id'], str: ['model'] }) },
  }));
}

/** Service accounts: the API-key users, Metabase's internal user. */
export function isNonHuman(row: { id?: unknown; type?: unknown; email?: unknown }): boolean {
  const type = str(row.type);
  const email = (str(row.email) ?? '').trim().toLowerCase();
  return type === 'api-key' || type === 'internal' || email.endsWith('@api-key.invalid') || num(row.id) === INTERNAL_USER_ID;
}

export function mapAccount(row: Row): Mapped<StateRecord> {
  const problems: string[] = [];
  const email = str(row['email'])?.trim().toLowerCase() ?? null;
  const raw: Row = { ...plainRow(row, secretColumns['core_user']) };
  if ('login_attributes' in row) raw['login_attributes'] = parseJsonColumn(row, 'login_attributes', problems, 'core_user');
  if ('jwt_attributes' in row) raw['jwt_attributes'] = parseJsonColumn(row, 'jwt_attributes', problems, 'core_user');
  if ('settings' in row) raw['settings'] = parseJsonColumn(row, 'settings', problems, 'core_user');
  return {
    problems,
    record: {
      upstream_id: String(row['id']),
      raw,
      email,
      account_type:
        str(row['type']) ?? (email?.endsWith('@api-key.invalid') ? 'api-key' : num(row['id']) === INTERNAL_USER_ID ? 'internal' : null),
      is_human: !isNonHuman(row),
      ...sameNamed(row, {
        str: ['first_name', 'last_name', 'sso_source'],
        bool: ['is_active', 'is_superuser'],
        instant: ['date_joined', 'last_login', 'deactivated_at'],
      }),
    },
  };
}

export function mapGroup(row: Row): Mapped<StateRecord> {
  return {
    problems: [],
    record: { upstream_id: String(row['id']), raw: plainRow(row), ...sameNamed(row, { str: ['name', 'magic_group_type'] }) },
  };
}

export function mapMembership(row: Row): Mapped<StateRecord> {
  const userId = num(row['user_id']);
  const groupId = num(row['group_id']);
  return {
    problems: [],
    record: {
      upstream_id: `${userId}:${groupId}`,
      raw: plainRow(row),
      user_id: userId,
      group_id: groupId,
      is_group_manager: bool(row['is_group_manager']) ?? false,
    },
  };
}

export function mapApiKey(row: Row): Mapped<StateRecord> {
  const raw = plainRow(row, [...secretColumns['api_key']!, 'masked_key']);
  const prefix = str(row['key_prefix']) ?? (typeof row['masked_key'] === 'string' ? row['masked_key'].slice(0, 7) : null);
  return {
    problems: [],
    record: {
      upstream_id: String(row['id']),
      raw: { ...raw, key_prefix: prefix },
      key_prefix: prefix,
      ...sameNamed(row, { str: ['name', 'scope'], num: ['user_id'] }),
      // created_by before v49.00-0xx renamed it creator_id.
      creator_id: num(row['creator_id'] ?? row['created_by']),
      created_at_source: parseMetabaseInstant(row['created_at']),
    },
  };
}
