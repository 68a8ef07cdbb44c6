// Graph JSON → rows of the evidence tables (src/store/tables.ts). The whole record is kept
// as raw (minus secret material); the normalised columns are what the rules query.
// A record that cannot be an event (no id, no usable time) is set aside with the reason,
// for the quarantine (the shared Mapped shape of src/collectors/types.ts).
import type { EventRecord, StateRecord } from '../../store/tables.js';
import { type Mapped, readColumns, setAside, stored } from '../types.js';

type Json = Record<string, unknown>;

/** Reads a key case-insensitively (one docs example capitalises `Type`, spec §2.2). */
export function field(record: unknown, key: string): unknown {
  if (record === null || typeof record !== 'object') return undefined;
  const obj = record as Json;
  if (key in obj) return obj[key];
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const bool = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** Strict ISO-8601 instant (Graph sends UTC with `Z` and 0–7 fraction digits, spec §6.7).
 *  Rejects what Date.parse would quietly roll over, such as 2026-02-30. */
export function parseGraphInstant(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  const fraction = (m[7] ?? '').slice(0, 4);
  const date = new Date(`${m.slice(1, 4).join('-')}T${m.slice(4, 7).join(':')}${fraction}${m[8]}`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Events before Entra existed or beyond tomorrow cannot be real. */
const EARLIEST_EVENT = Date.UTC(2010, 0, 1);

function eventTime(record: Json, key: string, now: Date): { at: Date } | { reason: string } {
  const value = record[key];
  if (value === undefined || value === null) return { reason: `${key} is missing` };
  const at = parseGraphInstant(value);
  if (!at) return { reason: `${key} is not a valid ISO-8601 instant: ${JSON.stringify(value).slice(0, 60)}` };
  if (at.getTime() < EARLIEST_EVENT || at.getTime() > now.getTime() + 86_400_000)
    return { reason: `${key} ${String(value)} is impossible (before 2010 or in the future)` };
  return { at };
}

function idOf(record: Json): string | null {
  return text(record['id']);
}

/** A column named after its Graph property: the evidence tables keep Graph's names in
 *  snake case (userPrincipalName → user_principal_name, src/store/tables.ts), so each
 *  column traces back to the field it holds. */
const columnOf = (property: string): string => property.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** How a Graph property is read into its column, by the kind of value it holds. */
const graphReaders = { text, bool, strings, instant: parseGraphInstant } as const;

/** The columns of `record` that are its Graph properties of the same name, each read by
 *  its kind; columns that are not (a lower-cased UPN, a nested field) are written out by
 *  the mapper beside these. */
const graphColumns = (record: Json, properties: Partial<Record<keyof typeof graphReaders, readonly string[]>>) =>
  readColumns(record, graphReaders, properties, columnOf);

export function mapSignIn(record: Json, graphVersion: 'beta' | 'v1.0', now: Date): Mapped<EventRecord> {
  const id = idOf(record);
  if (!id) return setAside('sign-in without an id', null);
  const time = eventTime(record, 'createdDateTime', now);
  if ('reason' in time) return setAside(time.reason, id);
  const status = record['status'] as Json | undefined;
  const errorCode = status && typeof status['errorCode'] === 'number' ? status['errorCode'] : null;
  return stored({
    upstream_id: id,
    occurred_at: time.at,
    raw: record,
    ...graphColumns(record, {
      text: ['userId', 'appId', 'ipAddress', 'conditionalAccessStatus', 'correlationId'],
      bool: ['isInteractive'],
    }),
    // What the sign-in rules judge (single-factor-sign-in, risky-sign-in).
    ...graphColumns(record, { text: ['authenticationRequirement', 'riskLevelDuringSignIn', 'riskState'] }),
    user_principal_name: text(record['userPrincipalName'])?.toLowerCase() ?? null,
    error_code: errorCode,
    event_types: Array.isArray(record['signInEventTypes']) ? strings(record['signInEventTypes']) : null,
    graph_version: graphVersion,
  });
}

/** Risk fields arrive as `hidden` without P2 (spec §1.2). */
export function riskHidden(record: Json): boolean {
  return record['riskLevelDuringSignIn'] === 'hidden' || record['riskDetail'] === 'hidden' || record['riskLevelAggregated'] === 'hidden';
}

export function mapAudit(record: Json, now: Date): Mapped<EventRecord> {
  const id = text(field(record, 'id'));
  if (!id) return setAside('directory audit without an id', null);
  const normalised: Json = { ...record, activityDateTime: field(record, 'activityDateTime') };
  const time = eventTime(normalised, 'activityDateTime', now);
  if ('reason' in time) return setAside(time.reason, id);
  const initiatedBy = field(record, 'initiatedBy');
  const targets = field(record, 'targetResources');
  return stored({
    upstream_id: id,
    occurred_at: time.at,
    raw: record,
    activity: text(field(record, 'activityDisplayName')),
    category: text(field(record, 'category')),
    operation_type: text(field(record, 'operationType')),
    result: text(field(record, 'result')),
    initiated_by_user_id: text(field(field(initiatedBy, 'user'), 'id')),
    initiated_by_app_id: text(field(field(initiatedBy, 'app'), 'appId')),
    target_ids: Array.isArray(targets) ? targets.map((t) => text(field(t, 'id'))).filter((v): v is string => v !== null) : [],
  });
}

/** A state record of a Graph object: its id, the record as kept (`raw`) and its columns
 *  (which may key the record otherwise: a member by its group too); an object without an
 *  id is set aside, `what` naming it in the quarantine. */
function stateRecord(
  record: Json,
  what: string,
  columns: (id: string) => Record<string, unknown>,
  raw: Json = record,
): Mapped<StateRecord> {
  const id = idOf(record);
  if (!id) return setAside(`${what} without an id`, null);
  return stored({ upstream_id: id, raw, ...columns(id) });
}

export function mapUser(record: Json, deleted: boolean): Mapped<StateRecord> {
  return stateRecord(record, deleted ? 'deleted user' : 'user', () =>
    graphColumns(record, {
      text: ['userPrincipalName', 'mail', 'userType'],
      strings: ['otherMails', 'proxyAddresses'],
      bool: ['accountEnabled'],
      instant: ['createdDateTime', 'deletedDateTime', 'employeeLeaveDateTime'],
    }),
  );
}

export function mapGroup(record: Json): Mapped<StateRecord> {
  return stateRecord(record, 'group', () => graphColumns(record, { text: ['displayName'] }));
}

/** `#microsoft.graph.user` → `user`. */
export function objectType(record: Json): string | null {
  const type = text(record['@odata.type']);
  return type ? type.replace(/^#?microsoft\.graph\./, '') : null;
}

export function mapMember(groupId: string, record: Json, transitive: boolean): Mapped<StateRecord> {
  // One row per (group, member): the member's id alone is not unique in the table.
  return stateRecord(record, 'group member', (id) => ({
    upstream_id: `${groupId}:${id}`,
    group_id: groupId,
    member_id: id,
    member_type: objectType(record),
    transitive,
  }));
}

/** Removes what must never be stored: secretText (only sent at creation) and key material. */
export function withoutSecrets(record: Json): Json {
  const copy: Json = { ...record };
  if (Array.isArray(copy['passwordCredentials'])) {
    copy['passwordCredentials'] = (copy['passwordCredentials'] as Json[]).map(({ secretText: _secret, ...rest }) => rest);
  }
  if (Array.isArray(copy['keyCredentials'])) {
    copy['keyCredentials'] = (copy['keyCredentials'] as Json[]).map(({ key: _key, ...rest }) => rest);
  }
  return copy;
}

export function mapApplication(record: Json, kind: 'application' | 'servicePrincipal'): Mapped<StateRecord> {
  const redirectUris =
    kind === 'application'
      ? [
          ...strings(field(record['web'], 'redirectUris')),
          ...strings(field(record['spa'], 'redirectUris')),
          ...strings(field(record['publicClient'], 'redirectUris')),
        ]
      : strings(record['replyUrls']);
  return stateRecord(
    record,
    kind,
    () => ({ object_kind: kind, ...graphColumns(record, { text: ['appId', 'displayName'] }), redirect_uris: redirectUris }),
    withoutSecrets(record),
  );
}

export function mapCredentials(owner: Json, kind: 'application' | 'servicePrincipal'): Mapped<StateRecord>[] {
  const ownerId = idOf(owner);
  if (!ownerId) return [];
  const clean = withoutSecrets(owner);
  const rows: Mapped<StateRecord>[] = [];
  const add = (credential: Json, type: string | null) => {
    const keyId = text(credential['keyId']);
    if (!keyId) {
      rows.push(setAside(`credential of ${kind} ${ownerId} without a keyId`, null));
      return;
    }
    rows.push(
      stored({
        upstream_id: `${ownerId}:${keyId}`,
        raw: credential,
        owner_id: ownerId,
        owner_kind: kind,
        app_id: text(owner['appId']),
        key_id: keyId,
        credential_type: type,
        ...graphColumns(credential, { text: ['displayName'], instant: ['startDateTime', 'endDateTime'] }),
      }),
    );
  };
  for (const credential of (clean['passwordCredentials'] as Json[] | undefined) ?? []) add(credential, 'password');
  for (const credential of (clean['keyCredentials'] as Json[] | undefined) ?? []) add(credential, text(credential['type']) ?? 'key');
  return rows;
}

export function mapAssignment(record: Json): Mapped<StateRecord> {
  return stateRecord(record, 'app role assignment', () =>
    graphColumns(record, { text: ['principalId', 'principalType', 'resourceId', 'appRoleId'] }),
  );
}
