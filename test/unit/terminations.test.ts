import { describe, expect, it } from 'vitest';

import { lifecycleEventsOf, upnChangesOf } from '../../src/correlation/identity/directory-audits.js';
import { type PersonLifecycle, terminatedAt, terminatedIntervals } from '../../src/correlation/identity/terminations.js';

const t = (iso: string) => new Date(iso);
const asOf = t('2026-09-30T00:00:00Z');
const base: PersonLifecycle = { personId: 'p1', events: [], deletedAt: null, vanishedAt: null, leaveAt: null, disabledSeenAt: null };
const ev = (kind: 'disable' | 'enable' | 'delete' | 'restore', at: string, id = at) => ({
  personId: 'p1',
  at: t(at),
  kind,
  auditId: id,
  activity: kind,
});

describe('terminated intervals', () => {
  it('opens at a disable and closes at the re-enable', () => {
    const intervals = terminatedIntervals(
      { ...base, events: [ev('disable', '2026-07-01T10:00:00Z'), ev('enable', '2026-07-05T10:00:00Z')] },
      asOf,
    );
    expect(intervals).toHaveLength(1);
    expect(intervals[0]).toMatchObject({ start: t('2026-07-01T10:00:00Z'), end: t('2026-07-05T10:00:00Z'), approximate: false });
    expect(terminatedAt(intervals, t('2026-07-06T00:00:00Z'))).toBeUndefined();
  });

  it('does not move the start on a second disable inside an open interval', () => {
    const intervals = terminatedIntervals(
      { ...base, events: [ev('disable', '2026-07-01T00:00:00Z'), ev('disable', '2026-07-03T00:00:00Z')] },
      asOf,
    );
    expect(intervals).toHaveLength(1);
    expect(intervals[0]!.start).toEqual(t('2026-07-01T00:00:00Z'));
    expect(intervals[0]!.end).toBeNull();
  });

  it('starts at deletion and ends at restore', () => {
    const intervals = terminatedIntervals(
      { ...base, events: [ev('delete', '2026-08-01T00:00:00Z'), ev('restore', '2026-08-02T00:00:00Z')] },
      asOf,
    );
    expect(intervals[0]).toMatchObject({ start: t('2026-08-01T00:00:00Z'), end: t('2026-08-02T00:00:00Z') });
  });

  it('counts a past leave date even while the account is enabled, and ignores a future one', () => {
    expect(terminatedIntervals({ ...base, leaveAt: t('2026-09-01T00:00:00Z') }, asOf)[0]).toMatchObject({
      reason: 'employeeLeaveDateTime',
      end: null,
    });
    expect(terminatedIntervals({ ...base, leaveAt: t('2026-10-15T00:00:00Z') }, asOf)).toEqual([]);
  });

  it('falls back to the first snapshot that saw the account disabled, marked approximate', () => {
    const intervals = terminatedIntervals({ ...base, disabledSeenAt: t('2026-08-10T00:00:00Z') }, asOf);
    expect(intervals[0]).toMatchObject({ start: t('2026-08-10T00:00:00Z'), approximate: true });
  });

  it('uses deletedDateTime when no audit record of the deletion was collected', () => {
    expect(terminatedIntervals({ ...base, deletedAt: t('2026-08-20T00:00:00Z') }, asOf)[0]).toMatchObject({
      start: t('2026-08-20T00:00:00Z'),
      reason: 'deletedDateTime',
    });
  });

  it('ignores events after as-of', () => {
    expect(terminatedIntervals({ ...base, events: [ev('disable', '2026-10-01T00:00:00Z')] }, asOf)).toEqual([]);
  });
});

describe('reading directory audits', () => {
  const audit = (activity: string, modified: object[] = [], result = 'success') => ({
    upstreamId: 'a1',
    occurredAt: t('2026-07-01T00:00:00Z'),
    activity,
    result,
    raw: { targetResources: [{ Type: 'User', id: 'p1', modifiedProperties: modified }] },
  });

  it('reads disable, enable, delete and restore, keys in any case', () => {
    expect(lifecycleEventsOf(audit('Disable account')).map((e) => e.kind)).toEqual(['disable']);
    expect(lifecycleEventsOf(audit('Hard Delete user')).map((e) => e.kind)).toEqual(['delete']);
    expect(lifecycleEventsOf(audit('Restore user')).map((e) => e.kind)).toEqual(['restore']);
  });

  it('reads AccountEnabled changes from Update user, and only successful records', () => {
    const off = [{ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' }];
    expect(lifecycleEventsOf(audit('Update user', off)).map((e) => e.kind)).toEqual(['disable']);
    expect(
      lifecycleEventsOf(audit('Update user', [{ displayName: 'AccountEnabled', oldValue: '[false]', newValue: '[true]' }])).map(
        (e) => e.kind,
      ),
    ).toEqual(['enable']);
    expect(lifecycleEventsOf(audit('Update user', off, 'failure'))).toEqual([]);
  });

  it('reads UPN renames, with JSON-encoded values', () => {
    const changes = upnChangesOf(
      audit('Update user', [{ displayName: 'UserPrincipalName', oldValue: '["Ada@Contoso.com"]', newValue: '["ada.byron@contoso.com"]' }]),
    );
    expect(changes).toEqual([expect.objectContaining({ personId: 'p1', oldUpn: 'ada@contoso.com', newUpn: 'ada.byron@contoso.com' })]);
  });
});
