// Reads what the access rules need from Entra directory audit records: account
// disable/enable, deletion/restore, and UPN renames. Audit payloads vary (keys in
// different case, modified property values JSON-encoded as strings), so every read is
// guarded and case-insensitive.

export type LifecycleKind = 'disable' | 'enable' | 'delete' | 'restore';

export interface LifecycleEvent {
  personId: string;
  at: Date;
  kind: LifecycleKind;
  auditId: string;
  activity: string;
}

export interface UpnChange {
  personId: string;
  at: Date;
  oldUpn: string;
  newUpn: string | null;
  auditId: string;
}

type Json = Record<string, unknown>;

function get(object: unknown, key: string): unknown {
  if (!object || typeof object !== 'object') return undefined;
  const wanted = key.toLowerCase();
  for (const [k, v] of Object.entries(object as Json)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** Activity names differ in dashes and case across sources: compare a normalised form. */
export function normaliseActivity(name: string): string {
  return name
    .toLowerCase()
    .replace(/[\u2010-\u2015]/g, '-')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A modified property value: usually JSON text ('["a@b.com"]', '[true]', '"x"'). */
export function parsePropertyValue(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    const parsed: unknown = JSON.parse(value);
    return Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed;
  } catch {
    return value;
  }
}

function userTargets(raw: unknown): { id: string; modified: Json[] }[] {
  const targets = get(raw, 'targetResources');
  if (!Array.isArray(targets)) return [];
  return targets
    .filter((target) => String(get(target, 'type') ?? '').toLowerCase() === 'user' && typeof get(target, 'id') === 'string')
    .map((target) => ({
      id: String(get(target, 'id')),
      modified: (Array.isArray(get(target, 'modifiedProperties')) ? get(target, 'modifiedProperties') : []) as Json[],
    }));
}

function property(modified: Json[], name: string): { oldValue: unknown; newValue: unknown } | undefined {
  const found = modified.find((p) => String(get(p, 'displayName') ?? '').toLowerCase() === name.toLowerCase());
  return found ? { oldValue: parsePropertyValue(get(found, 'oldValue')), newValue: parsePropertyValue(get(found, 'newValue')) } : undefined;
}

const asBoolean = (value: unknown): boolean | undefined =>
  typeof value === 'boolean' ? value : value === 'true' ? true : value === 'false' ? false : undefined;

/** The lifecycle events one audit record carries (only successful records count). */
export function lifecycleEventsOf(audit: {
  upstreamId: string;
  occurredAt: Date;
  activity: string;
  result: string | null;
  raw: unknown;
}): LifecycleEvent[] {
  if ((audit.result ?? '').toLowerCase() !== 'success') return [];
  const activity = normaliseActivity(audit.activity);
  const events: LifecycleEvent[] = [];
  for (const target of userTargets(audit.raw)) {
    const event = (kind: LifecycleKind) =>
      events.push({ personId: target.id, at: audit.occurredAt, kind, auditId: audit.upstreamId, activity: audit.activity });
    if (activity === 'disable account') event('disable');
    else if (activity === 'enable account') event('enable');
    else if (activity === 'delete user' || activity === 'hard delete user') event('delete');
    else if (activity === 'restore user') event('restore');
    else if (activity === 'update user') {
      const enabled = property(target.modified, 'AccountEnabled');
      if (enabled) {
        const before = asBoolean(enabled.oldValue);
        const after = asBoolean(enabled.newValue);
        if (before === true && after === false) event('disable');
        if (before === false && after === true) event('enable');
      }
    }
  }
  return events;
}

/** UPN renames from "Update user" records (for earlier-UPN links). */
export function upnChangesOf(audit: {
  upstreamId: string;
  occurredAt: Date;
  activity: string;
  result: string | null;
  raw: unknown;
}): UpnChange[] {
  if ((audit.result ?? '').toLowerCase() !== 'success' || normaliseActivity(audit.activity) !== 'update user') return [];
  const changes: UpnChange[] = [];
  for (const target of userTargets(audit.raw)) {
    const upn = property(target.modified, 'UserPrincipalName');
    if (upn && typeof upn.oldValue === 'string' && upn.oldValue.trim() !== '') {
      changes.push({
        personId: target.id,
        at: audit.occurredAt,
        oldUpn: upn.oldValue.trim().toLowerCase(),
        newUpn: typeof upn.newValue === 'string' ? upn.newValue.toLowerCase() : null,
        auditId: audit.upstreamId,
      });
    }
  }
  return changes;
}

/** Activity names worth loading for the two functions above. */
export const lifecycleActivities = ['Disable account', 'Enable account', 'Delete user', 'Hard Delete user', 'Restore user', 'Update user'];
