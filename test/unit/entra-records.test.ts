import { describe, expect, it } from 'vitest';

import { createPacer } from '../../src/collectors/entra/pacer.js';
import {
  mapApplication,
  mapAssignment,
  mapAudit,
  mapCredentials,
  mapGroup,
  mapMember,
  mapSignIn,
  mapUser,
  parseGraphInstant,
} from '../../src/collectors/entra/records.js';
import { compileFilter, FilterError } from '../../src/emulators/entra/odata.js';
import { eventTables, type EvidenceTableSpec, stateTables } from '../../src/store/tables.js';

const now = new Date('2026-08-01T00:00:00Z');

describe('Entra record mapping', () => {
  it('parses Graph instants strictly', () => {
    expect(parseGraphInstant('2026-07-01T10:00:00.1234567Z')?.toISOString()).toBe('2026-07-01T10:00:00.123Z');
    expect(parseGraphInstant('2026-02-30T10:00:00Z')).toBeNull();
    expect(parseGraphInstant('2026-07-01 10:00')).toBeNull();
  });

  it('maps a sign-in and rejects impossible ones with a reason', () => {
    const ok = mapSignIn(
      {
        id: 's',
        createdDateTime: '2026-07-01T10:00:00Z',
        userPrincipalName: 'A@B.example',
        status: { errorCode: 53003 },
        signInEventTypes: ['nonInteractiveUser'],
      },
      'beta',
      now,
    );
    expect(ok).toMatchObject({
      problems: [],
      record: { user_principal_name: 'a@b.example', error_code: 53003, event_types: ['nonInteractiveUser'], graph_version: 'beta' },
    });
    expect(mapSignIn({ id: 's', createdDateTime: '2030-01-01T00:00:00Z' }, 'beta', now)).toMatchObject({
      problems: [expect.stringMatching(/impossible/)],
      upstreamId: 's',
    });
    expect(mapSignIn({ createdDateTime: '2026-07-01T10:00:00Z' }, 'beta', now)).toMatchObject({
      problems: ['sign-in without an id'],
      upstreamId: null,
    });
  });

  it('reads audit keys case-insensitively', () => {
    const mapped = mapAudit(
      {
        id: 'd',
        activityDateTime: '2026-07-01T10:00:00Z',
        activityDisplayName: 'Add member to group',
        targetResources: [{ Id: 'u1', Type: 'User' }, { id: 'g1' }],
        initiatedBy: { app: { appId: 'x' } },
      },
      now,
    );
    expect(mapped).toMatchObject({
      problems: [],
      record: { target_ids: ['u1', 'g1'], initiated_by_app_id: 'x', initiated_by_user_id: null },
    });
  });

  it('never keeps secret text or key material of credentials', () => {
    const rows = mapCredentials(
      {
        id: 'o',
        appId: 'a',
        passwordCredentials: [{ keyId: 'k1', secretText: 'shh' }],
        keyCredentials: [{ keyId: 'k2', type: 'AsymmetricX509Cert', key: 'MIIB' }],
      },
      'application',
    );
    expect(JSON.stringify(rows)).not.toMatch(/shh|MIIB/);
    expect(rows.map((r) => r.record?.upstream_id ?? null)).toEqual(['o:k1', 'o:k2']);
  });
});

describe('Entra mappers and the evidence tables', () => {
  // Most columns are named after their Graph property (graphColumns: userPrincipalName →
  // user_principal_name): a property misspelt in a mapper would make a column the table
  // does not have, and a column the mapper forgets would be stored as null.
  const columnsOf = (record: Record<string, unknown> | undefined) =>
    Object.keys(record ?? {})
      .filter((key) => !['upstream_id', 'occurred_at', 'raw'].includes(key))
      .sort();
  const tableColumns = (spec: EvidenceTableSpec) => spec.columns.map((column) => column.name).sort();
  const owner = { id: 'o', appId: 'a', displayName: 'App', passwordCredentials: [{ keyId: 'k1' }] };
  it.each([
    ['sign-in', mapSignIn({ id: 's', createdDateTime: '2026-07-01T10:00:00Z' }, 'beta', now), eventTables.entra_sign_in],
    ['audit', mapAudit({ id: 'd', activityDateTime: '2026-07-01T10:00:00Z' }, now), eventTables.entra_directory_audit],
    ['user', mapUser({ id: 'u' }, false), stateTables.entra_user_version],
    ['group', mapGroup({ id: 'g' }), stateTables.entra_group_version],
    ['member', mapMember('g', { id: 'u' }, true), stateTables.entra_group_member_version],
    ['application', mapApplication(owner, 'application'), stateTables.entra_application_version],
    ['credential', mapCredentials(owner, 'application')[0]!, stateTables.entra_credential_version],
    ['app role assignment', mapAssignment({ id: 'a' }), stateTables.entra_app_role_assignment_version],
  ] as const)('a mapped %s has exactly the columns of its table', (_what, mapped, table) => {
    expect(mapped.problems).toEqual([]);
    expect(columnsOf(mapped.record)).toEqual(tableColumns(table));
  });
});

describe('emulator $filter', () => {
  const allowed = new Set(['createdDateTime', 'appId', 'signInEventTypes/any']);
  it('accepts the clauses the collector sends and refuses quoted dates and gt', () => {
    const match = compileFilter(
      "createdDateTime ge 2026-07-01T00:00:00Z and createdDateTime le 2026-07-02T00:00:00Z and appId eq 'A' and signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')",
      allowed,
    );
    expect(match({ createdDateTime: '2026-07-01T10:00:00Z', appId: 'a', signInEventTypes: ['nonInteractiveUser'] })).toBe(true);
    expect(match({ createdDateTime: '2026-07-03T10:00:00Z', appId: 'a', signInEventTypes: ['nonInteractiveUser'] })).toBe(false);
    expect(() => compileFilter("createdDateTime ge '2026-07-01T00:00:00Z'", allowed)).toThrow(FilterError);
    expect(() => compileFilter('createdDateTime gt 2026-07-01T00:00:00Z', allowed)).toThrow(FilterError);
  });
});

describe('reporting pacer', () => {
  it('lets `requests` through per window and no more', async () => {
    let clock = 0;
    const pacer = createPacer({ requests: 3, windowMs: 1000 }, () => clock);
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const slot = await pacer.take();
      times.push(clock);
      slot.done();
    }
    const pending = pacer.take().then((slot) => {
      times.push(clock);
      slot.done();
    });
    // The fourth waits on a real timer until the clock passes the window.
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(times).toEqual([0, 0, 0]);
    clock = 1010;
    await pending;
    expect(times[3]).toBe(1010);
  });
});
