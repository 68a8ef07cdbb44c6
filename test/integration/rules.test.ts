// Each rule of rules.md over a small hand-built store, holding the rule's edges.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { accessAfterTermination } from '../../src/correlation/rules/access-after-termination.rule.js';
import { dormantAccount } from '../../src/correlation/rules/dormant-account.rule.js';
import { failedSignInBurst } from '../../src/correlation/rules/failed-sign-in-burst.rule.js';
import { logGap } from '../../src/correlation/rules/log-gap.rule.js';
import { orphanedAccount } from '../../src/correlation/rules/orphaned-account.rule.js';
import { riskySignIn } from '../../src/correlation/rules/risky-sign-in.rule.js';
import { singleFactorSignIn } from '../../src/correlation/rules/single-factor-sign-in.rule.js';
import { ssoBypass } from '../../src/correlation/rules/sso-bypass.rule.js';
import { staleCredential } from '../../src/correlation/rules/stale-credential.rule.js';
import { unjustifiedPrivilege } from '../../src/correlation/rules/unjustified-privilege.rule.js';
import { unlinkedAccount } from '../../src/correlation/rules/unlinked-account.rule.js';
import type { Rule } from '../../src/correlation/types.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { capabilities, ENTRA, evidenceBuilder, METABASE, runRules, streams } from '../support/evidence-builder.js';

const FROM = '2026-07-01T00:00:00Z';
const TO = '2026-10-01T00:00:00Z';

function withStore(run: (get: () => { store: TestStore; org: ReturnType<typeof evidenceBuilder> }) => void) {
  let store: TestStore;
  let org: ReturnType<typeof evidenceBuilder>;
  beforeAll(async () => {
    store = await openTestStore('postgres');
    org = evidenceBuilder(store.db);
    await org.coverAll('2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z');
  });
  afterAll(async () => store?.dispose());
  run(() => ({ store, org }));
}

async function findingsOf(store: TestStore, rule: Rule, extra: Partial<Parameters<typeof runRules>[1]> = {}) {
  const result = await runRules(store.db, { from: FROM, to: TO, rules: [rule], ...extra });
  return { result, outcome: result.rules[0]!, findings: result.rules[0]!.findings };
}

describe('access-after-termination', () => {
  withStore((get) => {
    it('flags activity later than the termination, not at it, and not after re-enable', async () => {
      const { org, store } = get();
      await org.users('2026-06-01T00:00:00Z', [
        { id: 'p-ada', upn: 'Ada@contoso.com' },
        { id: 'p-bob', upn: 'bob@contoso.com' },
      ]);
      await org.accounts('2026-06-01T00:00:00Z', [
        { id: 1, email: 'ADA@contoso.com' },
        { id: 2, email: 'bob@contoso.com' },
      ]);
      await org.audits([
        { activity: 'Disable account', at: '2026-07-10T12:00:00Z', target: 'p-ada', id: 'aud-disable-ada' },
        {
          activity: 'Update user',
          at: '2026-08-01T09:00:00Z',
          target: 'p-bob',
          modified: [{ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' }],
        },
        { activity: 'Enable account', at: '2026-08-02T09:00:00Z', target: 'p-bob' },
      ]);
      await org.logins([
        { account: 1, at: '2026-07-10T12:00:00Z', id: 'login-at-termination' },
        { account: 1, at: '2026-07-10T12:00:01Z', id: 'login-one-second-later' },
        { account: 2, at: '2026-08-03T10:00:00Z', id: 'login-after-reenable' },
      ]);
      await org.queries([{ account: 1, at: '2026-07-20T08:00:00Z', id: 'query-after' }]);

      const { findings } = await findingsOf(store, accessAfterTermination);
      expect(findings).toHaveLength(1);
      expect(findings[0]!.subject).toMatchObject({ personId: 'p-ada', upn: 'ada@contoso.com', metabaseAccountId: '1' });
      expect(findings[0]!.evidence.map((e) => e.id)).toEqual(['login-one-second-later', 'query-after']);
      expect(findings[0]!.firstSeen).toEqual(new Date('2026-07-10T12:00:01Z'));
      expect(findings[0]!.detail).toMatchObject({ terminationReason: 'Disable account' });
    });

    it('honours the grace parameter', async () => {
      const { store } = get();
      const { findings } = await findingsOf(store, accessAfterTermination, {
        overrides: { ACCESSTRAIL_RULE_ACCESS_AFTER_TERMINATION_GRACE_MINUTES: '60' },
      });
      expect(findings[0]!.evidence.map((e) => e.id)).toEqual(['query-after']);
    });
  });
});

describe('orphaned-account and unlinked-account', () => {
  withStore((get) => {
    it('finds active accounts of terminated people, and human accounts without a link', async () => {
      const { org, store } = get();
      await org.users('2026-06-01T00:00:00Z', [
        { id: 'p-1', upn: 'left@contoso.com', leave: '2026-08-15T00:00:00Z' },
        { id: 'p-2', upn: 'gone@contoso.com', enabled: false },
        { id: 'p-3', upn: 'sam@contoso.com' },
        { id: 'p-4', upn: 'samuel@contoso.com', mail: 'SAM@contoso.com' },
      ]);
      await org.accounts('2026-06-01T00:00:00Z', [
        { id: 10, email: 'left@contoso.com' },
        { id: 11, email: 'gone@contoso.com', active: false, deactivatedAt: '2026-06-01T00:00:00Z' },
        { id: 12, email: 'sam@contoso.com' },
        { id: 13, email: 'stranger@elsewhere.org' },
        { id: 14, email: 'api-key-user-1@api-key.invalid', type: 'api-key' },
        { id: 13371338, email: 'internal@metabase.com', type: 'internal' },
      ]);
      const orphaned = await findingsOf(store, orphanedAccount);
      expect(orphaned.findings.map((f) => f.subject.metabaseAccountId)).toEqual(['10']);
      expect(orphaned.findings[0]!.detail).toMatchObject({ terminationReason: 'employeeLeaveDateTime' });

      const unlinked = await findingsOf(store, unlinkedAccount);
      expect(unlinked.findings.map((f) => [f.subject.metabaseAccountId, f.detail['ambiguity']])).toEqual([
        ['12', ['p-3', 'p-4']],
        ['13', null],
      ]);
    });
  });
});

describe('sso-bypass', () => {
  withStore((get) => {
    it('explains logins by sign-ins in [login − 10 min, login + 2 min], and no wider', async () => {
      const { org, store } = get();
      await org.users('2026-06-01T00:00:00Z', [{ id: 'p-1', upn: 'ada@contoso.com' }]);
      await org.accounts('2026-06-01T00:00:00Z', [
        { id: 1, email: 'ada@contoso.com' },
        { id: 2, email: 'nobody@contoso.com' },
      ]);
      await org.signIns([
        { user: 'p-1', at: '2026-07-05T09:50:00Z' }, // exactly 10 min before login A
        { user: 'p-1', at: '2026-07-06T09:49:59Z' }, // 10 min 1 s before login B
        { user: 'p-1', at: '2026-07-07T10:02:00Z' }, // exactly 2 min after login C
        { user: 'p-1', at: '2026-07-08T09:55:00Z', errorCode: 50126 }, // failed: explains nothing
      ]);
      await org.logins([
        { account: 1, at: '2026-07-05T10:00:00Z', id: 'A' },
        { account: 1, at: '2026-07-06T10:00:00Z', id: 'B' },
        { account: 1, at: '2026-07-07T10:00:00Z', id: 'C' },
        { account: 1, at: '2026-07-08T10:00:00Z', id: 'D' },
        { account: 2, at: '2026-07-09T10:00:00Z', id: 'E' },
        { account: 1, at: '2026-07-10T10:00:00Z', id: 'F', session: 'sess-password' },
      ]);
      await org.signIns([{ user: 'p-1', at: '2026-07-10T09:59:00Z' }]);
      await org.passwordSession('sess-password', 1, '2026-07-10T10:00:00Z');

      const { findings, result } = await findingsOf(store, ssoBypass);
      expect(result.matches).toMatchObject({ explained: 2, unexplained: 2, unlinked: 1, 'password-session': 1 });
      const byAccount = Object.fromEntries(findings.map((f) => [f.subject.metabaseAccountId, f.evidence.map((e) => e.id)]));
      expect(byAccount).toEqual({ '1': ['B', 'D', 'F'], '2': ['E'] });
    });

    it('counts logins outside Entra sign-in coverage as not evaluable, not as bypasses', async () => {
      const { org, store } = get();
      await org.logins([{ account: 1, at: '2026-12-31T00:00:00Z', id: 'edge-of-coverage' }]);
      const { outcome, findings } = await findingsOf(store, ssoBypass, { to: '2027-01-01T00:00:00Z', asOf: '2027-01-01T00:00:00Z' });
      expect(outcome.notEvaluableCount).toBe(1);
      expect(findings.flatMap((f) => f.evidence.map((e) => e.id))).not.toContain('edge-of-coverage');
    });
  });
});

describe('single-factor-sign-in and risky-sign-in', () => {
  withStore((get) => {
    it('finds single-factor and risky successful sign-ins per person', async () => {
      const { org, store } = get();
      await org.signIns([
        { user: 'p-1', at: '2026-07-05T10:00:00Z', requirement: 'singleFactorAuthentication', id: 'sf-1' },
        { user: 'p-1', at: '2026-07-06T10:00:00Z', requirement: 'singleFactorAuthentication', errorCode: 50126 },
        { user: 'p-2', at: '2026-07-06T10:00:00Z', requirement: 'multiFactorAuthentication', risk: 'medium', id: 'risk-1' },
        { user: 'p-3', at: '2026-07-06T11:00:00Z', riskState: 'atRisk', id: 'risk-2' },
        { user: 'p-3', at: '2026-07-06T12:00:00Z', risk: 'low', id: 'low' },
      ]);
      const single = await findingsOf(store, singleFactorSignIn);
      expect(single.findings.map((f) => [f.subject.personId, f.evidence.map((e) => e.id)])).toEqual([['p-1', ['sf-1']]]);
      const risky = await findingsOf(store, riskySignIn);
      expect(risky.findings.map((f) => [f.subject.personId, f.evidence.map((e) => e.id)])).toEqual([
        ['p-2', ['risk-1']],
        ['p-3', ['risk-2']],
      ]);
    });

    it('is not evaluable on v1.0-only sign-ins, or when risk is hidden', async () => {
      const { org, store } = get();
      await org.signIns([
        { user: 'p-9', at: '2026-09-05T10:00:00Z', requirement: null, risk: 'hidden' },
        { user: 'p-9', at: '2026-09-06T10:00:00Z', requirement: null, risk: 'hidden' },
      ]);
      const period = { from: '2026-09-01T00:00:00Z', to: '2026-09-30T00:00:00Z' };
      expect((await findingsOf(store, singleFactorSignIn, period)).outcome).toMatchObject({ status: 'not-evaluable' });
      expect((await findingsOf(store, riskySignIn, period)).outcome).toMatchObject({ status: 'not-evaluable' });
    });
  });
});

describe('unjustified-privilege', () => {
  withStore((get) => {
    it('accepts admins in a (nested) Entra admin group, flags the others, and is not evaluable without groups', async () => {
      const { org, store } = get();
      const adminGroup = '22222222-2222-2222-2222-222222222222';
      await org.users('2026-06-01T00:00:00Z', [
        { id: 'p-1', upn: 'nested@contoso.com' },
        { id: 'p-2', upn: 'rogue@contoso.com' },
      ]);
      await org.accounts('2026-06-01T00:00:00Z', [
        { id: 1, email: 'nested@contoso.com', superuser: true },
        { id: 2, email: 'rogue@contoso.com' },
        { id: 3, email: 'unlinked-admin@elsewhere.org', superuser: true },
        { id: 4, email: 'api-key-user-x@api-key.invalid', type: 'api-key', superuser: true },
      ]);
      await org.metabaseGroups(
        '2026-06-01T00:00:00Z',
        [
          { id: 1, name: 'All Users', magic: 'all-internal-users' },
          { id: 2, name: 'Administrators', magic: 'admin' },
        ],
        [
          { userId: 2, groupId: 2 },
          { userId: 1, groupId: 2 },
        ],
      );
      await org.entraGroupMembers('2026-06-01T00:00:00Z', [{ groupId: adminGroup, memberId: 'p-1', transitive: true }]);

      const none = await findingsOf(store, unjustifiedPrivilege);
      expect(none.outcome).toMatchObject({ status: 'not-evaluable' });
      const { findings } = await findingsOf(store, unjustifiedPrivilege, { adminGroupIds: [adminGroup] });
      expect(findings.map((f) => [f.subject.metabaseAccountId, f.detail['viaAdminGroup'], f.detail['linked']])).toEqual([
        ['2', true, true],
        ['3', false, false],
      ]);
    });
  });
});

describe('dormant-account', () => {
  withStore((get) => {
    it('flags accounts idle for longer than 90 days, not younger accounts or recent users', async () => {
      const { org, store } = get();
      await org.users('2026-06-01T00:00:00Z', [{ id: 'p-1', upn: 'signs-in@contoso.com' }]);
      await org.accounts('2026-06-01T00:00:00Z', [
        { id: 1, email: 'idle@contoso.com', joined: '2026-01-01T00:00:00Z', lastLogin: '2026-07-02T23:59:59Z' }, // 90 days + 1 s before as-of
        { id: 2, email: 'recent@contoso.com', joined: '2026-01-01T00:00:00Z', lastLogin: '2026-07-03T00:00:00Z' }, // exactly 90 days
        { id: 3, email: 'young@contoso.com', joined: '2026-07-15T00:00:00Z' },
        { id: 4, email: 'never@contoso.com', joined: '2026-02-01T00:00:00Z' },
        { id: 5, email: 'signs-in@contoso.com', joined: '2026-01-01T00:00:00Z' },
        { id: 6, email: 'queries@contoso.com', joined: '2026-01-01T00:00:00Z' },
      ]);
      await org.signIns([{ user: 'p-1', at: '2026-09-01T00:00:00Z' }]);
      await org.queries([{ account: 6, at: '2026-09-20T00:00:00Z' }]);
      const { findings } = await findingsOf(store, dormantAccount);
      expect(findings.map((f) => f.subject.metabaseAccountId)).toEqual(['1', '4']);
    });
  });
});

describe('stale-credential', () => {
  withStore((get) => {
    it('flags old, expired and expiring secrets, and old Metabase API keys', async () => {
      const { org, store } = get();
      await org.credentials('2026-06-01T00:00:00Z', [
        { keyId: 'old', start: '2026-06-01T00:00:00Z', end: '2027-06-01T00:00:00Z' },
        { keyId: 'expired', start: '2026-08-01T00:00:00Z', end: '2026-09-15T00:00:00Z' },
        { keyId: 'expiring', start: '2026-08-01T00:00:00Z', end: '2026-10-20T00:00:00Z' },
        { keyId: 'fine', start: '2026-08-01T00:00:00Z', end: '2027-08-01T00:00:00Z' },
      ]);
      await org.apiKeys('2026-06-01T00:00:00Z', [
        { id: 1, prefix: 'mb_Old1', created: '2026-05-01T00:00:00Z' },
        { id: 2, prefix: 'mb_New2', created: '2026-09-01T00:00:00Z' },
      ]);
      const { findings } = await findingsOf(store, staleCredential);
      expect(findings.map((f) => f.subject.credentialId).sort()).toEqual(['expired', 'expiring', 'mb_Old1', 'old']);
    });
  });
});

describe('log-gap', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore('postgres');
  });
  afterAll(async () => store?.dispose());

  it('reports uncovered intervals longer than the tolerance and truncated Metabase retention', async () => {
    const org = evidenceBuilder(store.db);
    await org.coverage(streams.entraSignIns, '2026-06-01T00:00:00Z', '2026-08-01T00:00:00Z');
    await org.coverage(streams.entraSignIns, '2026-08-02T01:00:00Z', '2026-10-02T00:00:00Z'); // 25 h gap
    await org.coverage(streams.entraDirectoryAudits, '2026-06-01T00:00:00Z', '2026-08-01T00:00:00Z');
    await org.coverage(streams.entraDirectoryAudits, '2026-08-01T23:00:00Z', '2026-10-02T00:00:00Z'); // 23 h gap: tolerated
    for (const stream of [streams.metabaseLogins, streams.metabaseViews, streams.metabaseAuditEvents]) {
      await org.coverage(stream, '2026-06-01T00:00:00Z', '2026-10-02T00:00:00Z');
    }
    // Metabase had already deleted query rows before 15 July when collection started...
    await org.coverage(streams.metabaseQueryExecutions, '2026-07-15T00:00:00Z', '2026-10-02T00:00:00Z');
    await org.retention(streams.metabaseQueryExecutions, '2026-07-15T00:00:00Z');
    // ...while view rows older than Metabase's oldest were archived in time: no finding.
    await org.retention(streams.metabaseViews, '2026-08-01T00:00:00Z');
    await org.capability(METABASE, capabilities.metabaseTable('audit_log'), false, 'OSS edition');
    const { findings } = await findingsOf(store, logGap);
    expect(findings.map((f) => [f.subject.source, f.detail['kind']])).toEqual([
      [`${ENTRA} ${streams.entraSignIns}`, 'uncovered'],
      [`${METABASE} ${streams.metabaseQueryExecutions}`, 'retention'],
    ]);
  });
});

describe('failed-sign-in-burst', () => {
  withStore((get) => {
    it('needs the threshold inside one window, ignores interrupts, and merges overlapping windows', async () => {
      const { org, store } = get();
      const failures = (user: string, start: string, count: number, stepSeconds: number, code = 50126) =>
        Array.from({ length: count }, (_, i) => ({
          user,
          at: new Date(Date.parse(start) + i * stepSeconds * 1000).toISOString(),
          errorCode: code,
        }));
      await org.signIns([
        ...failures('p-burst', '2026-07-05T10:00:00Z', 10, 60), // 10 in 9 min: a burst
        ...failures('p-burst', '2026-07-05T10:10:00Z', 5, 60), // continues: same burst
        ...failures('p-nine', '2026-07-05T10:00:00Z', 9, 60),
        ...failures('p-interrupts', '2026-07-05T10:00:00Z', 8, 30),
        ...failures('p-interrupts', '2026-07-05T10:05:00Z', 4, 10, 50074),
        ...failures('p-slow', '2026-07-05T10:00:00Z', 10, 70), // 10 failures over 10.5 min
      ]);
      const { findings } = await findingsOf(store, failedSignInBurst);
      expect(findings.map((f) => [f.subject.personId, f.evidence.length])).toEqual([['p-burst', 15]]);
    });
  });
});
