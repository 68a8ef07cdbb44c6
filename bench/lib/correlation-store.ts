// The correlation benchmark's store (issue 13/14: the generator, apart from the
// benchmarks that read it): 1,000,000 Entra sign-ins, 1,000,000 Metabase logins,
// 5,000,000 query executions and 20,000 accounts at scale 1, over 120 days ending at
// 2026-07-01. bench/correlate.ts and bench/report-from-store.ts measure on it.
//
// How the store is filled: directory state (users, accounts, groups, memberships,
// credentials, API keys) and directory audits go through the evidence repository, like
// a collector writes them. The bulk event tables (sign-ins, logins, sessions, queries,
// views, audit events) are generated in the database with insert … select …
// generate_series: the repository would take far longer for 7M+ rows on this machine,
// and these benchmarks measure correlation and reports, not ingestion (bench/store-ingest
// does that). Those rows carry one placeholder evidence batch and a placeholder record
// hash, so the hash chain of this store does not verify; nothing in correlation reads it.
//
// Run directly, it builds a store and keeps it, for the benchmarks' --store option:
//   npx tsx bench/lib/correlation-store.ts --scale 1
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { CompiledQuery, type Kysely, sql } from 'kysely';
import pg from 'pg';

import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { openStore } from '../../src/store/database.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { ensureMonthlyPartitions } from '../../src/store/partitions.js';
import type { Database } from '../../src/store/schema.js';
import { capabilities, streams } from '../../src/store/streams.js';
import type { StateRecord, StateTableName } from '../../src/store/tables.js';
import { createTestDatabase, serverUrl } from '../../test/support/database.js';
import { BENCH_DEVICE, BENCH_LOCATION, MFA_POLICY } from './sign-in.js';

/** Row counts at a scale (scale 1: the issue-13 size). */
export function correlationStoreSizes(scale: number) {
  if (!Number.isFinite(scale) || scale <= 0) throw new Error('--scale must be a positive number');
  return {
    accounts: Math.round(20_000 * scale),
    signIns: Math.round(1_000_000 * scale),
    logins: Math.round(1_000_000 * scale),
    queries: Math.round(5_000_000 * scale),
    views: Math.round(200_000 * scale),
    auditEvents: Math.round(50_000 * scale),
  };
}

// The sizes of the store being generated (set by generateCorrelationStore; the builders
// below read them).
let N = correlationStoreSizes(1);

export const ENTRA = 'entra:contoso';
export const METABASE = 'metabase:bi';
export const APP_ID = '11111111-1111-4111-8111-111111111111';
const OTHER_APP_ID = '00000003-0000-0000-c000-000000000000';
export const ADMIN_GROUP = 'aaaaaaaa-0000-4000-8000-000000000001';
export const DAY = 86_400_000;
export const asOf = new Date('2026-07-01T00:00:00Z');
const spanStart = new Date(asOf.getTime() - 120 * DAY);
export const period = { from: new Date(asOf.getTime() - 90 * DAY), to: asOf };
const stateObservedAt = new Date(asOf.getTime() - 3_600_000);
const joinedLongAgo = new Date(spanStart.getTime() - 100 * DAY);

/** Deterministic uniform [0, 1) per (index, salt): the same store every run. */
function frac(i: number, salt: number): number {
  let x = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(salt + 17, 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  x ^= x >>> 16;
  return (x >>> 0) / 4_294_967_296;
}

const personIdOf = (n: number) => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;
const twinIdOf = (n: number) => `00000000-0000-4000-9000-${n.toString().padStart(12, '0')}`;
const at = (ms: number) => new Date(Math.round(ms));

type LinkKind = 'upn' | 'mail' | 'otherMails' | 'proxy' | 'earlierUpn' | 'guest' | 'unlinked' | 'ambiguous' | 'nonHuman';
type Lifecycle =
  'normal' | 'disabledActive' | 'disabledDeactivated' | 'reenabled' | 'deleted' | 'leaveDate' | 'updateDisabled' | 'snapshotDisabled';
type Mode = 'sso' | 'password-user' | 'password-session';

interface Person {
  id: string;
  upn: string;
  mail: string | null;
  otherMails: string[];
  proxyAddresses: string[];
  userType: 'Member' | 'Guest';
  enabledNow: boolean;
  deletedAt: Date | null;
  leaveAt: Date | null;
}

interface Account {
  id: number;
  email: string;
  human: boolean;
  link: LinkKind;
  lifecycle: Lifecycle;
  terminatedAt: Date | null;
  continuesAfter: boolean;
  personId: string | null;
  mode: Mode;
  activeFrom: Date;
  activeUntil: Date;
  signInUntil: Date;
  joined: Date;
  isActive: boolean;
  deactivatedAt: Date | null;
  superuser: boolean;
  adminGroup: boolean;
  inEntraAdminGroup: boolean;
  hasActivity: boolean;
  singleFactor: boolean;
  burst: 'failure' | 'interrupt' | null;
  burstAt: Date | null;
  team: number;
}

interface Audit {
  id: string;
  activity: string;
  at: Date;
  target: string;
  upn: string;
  modified: { displayName: string; oldValue: string; newValue: string }[];
}

/** The organisation: people, accounts and the lifecycle audits, built in memory (small). */
function buildOrganisation() {
  const people: Person[] = [];
  const accounts: Account[] = [];
  const audits: Audit[] = [];
  let auditSeq = 0;
  const audit = (activity: string, when: Date, person: Person, modified: Audit['modified'] = []) =>
    audits.push({
      id: `b0d1a000-0000-4000-8000-${(++auditSeq).toString().padStart(12, '0')}`,
      activity,
      at: when,
      target: person.id,
      upn: person.upn,
      modified,
    });
  const inPeriod = (i: number, salt: number) => at(period.from.getTime() + frac(i, salt) * 85 * DAY);

  for (let i = 0; i < N.accounts; i++) {
    const r1 = frac(i, 1);
    const link: LinkKind =
      r1 < 0.8
        ? 'upn'
        : r1 < 0.88
          ? 'mail'
          : r1 < 0.9
            ? 'otherMails'
            : r1 < 0.91
              ? 'proxy'
              : r1 < 0.92
                ? 'earlierUpn'
                : r1 < 0.93
                  ? 'guest'
                  : r1 < 0.96
                    ? 'unlinked'
                    : r1 < 0.97
                      ? 'ambiguous'
                      : r1 < 0.975
                        ? 'nonHuman'
                        : 'upn';
    const id = personIdOf(i);
    const person: Person = {
      id,
      upn: `user${i}@contoso.example`,
      mail: `user${i}@contoso.example`,
      otherMails: [],
      proxyAddresses: [`SMTP:user${i}@contoso.example`],
      userType: 'Member',
      enabledNow: true,
      deletedAt: null,
      leaveAt: null,
    };
    let email = person.upn;
    switch (link) {
      case 'upn':
        // Entra keeps the case the admin typed; Metabase e-mails are stored lower-cased.
        if (frac(i, 2) < 0.1) person.upn = `User${i}@Contoso.example`;
        break;
      case 'mail':
        person.upn = `u${i}@contoso.onmicrosoft.com`;
        person.mail = `first.last${i}@contoso.example`;
        email = person.mail;
        break;
      case 'otherMails':
        person.otherMails = [`alt${i}@partner.example`];
        email = `alt${i}@partner.example`;
        break;
      case 'proxy':
        person.proxyAddresses.push(`smtp:alias${i}@contoso.example`, `SIP:alias${i}@contoso.example`);
        email = `alias${i}@contoso.example`;
        break;
      case 'earlierUpn':
        person.upn = `renamed${i}@contoso.example`;
        person.mail = `renamed${i}@contoso.example`;
        email = `user${i}@contoso.example`;
        audit('Update user', inPeriod(i, 3), person, [
          { displayName: 'UserPrincipalName', oldValue: `["user${i}@contoso.example"]`, newValue: `["renamed${i}@contoso.example"]` },
        ]);
        break;
      case 'guest':
        person.upn = `guest${i}_fabrikam.example#EXT#@contoso.onmicrosoft.com`;
        person.mail = null;
        person.proxyAddresses = [];
        person.userType = 'Guest';
        email = `guest${i}@fabrikam.example`;
        break;
      case 'unlinked':
        email = `contractor${i}@external.example`;
        break;
      case 'ambiguous': {
        email = `shared${i}@contoso.example`;
        person.mail = email;
        people.push({
          id: twinIdOf(i),
          upn: `twin${i}@contoso.example`,
          mail: `twin${i}@contoso.example`,
          otherMails: [email],
          proxyAddresses: [],
          userType: 'Member',
          enabledNow: true,
          deletedAt: null,
          leaveAt: null,
        });
        break;
      }
      case 'nonHuman':
        email = `api-key-${i}@api-key.invalid`;
        break;
    }
    const human = link !== 'nonHuman';
    const linked = human && link !== 'unlinked' && link !== 'ambiguous';
    if (link !== 'nonHuman') people.push(person);

    const r2 = frac(i, 4);
    const lifecycle: Lifecycle = !linked
      ? 'normal'
      : r2 < 0.02
        ? 'disabledActive'
        : r2 < 0.03
          ? 'disabledDeactivated'
          : r2 < 0.035
            ? 'reenabled'
            : r2 < 0.04
              ? 'deleted'
              : r2 < 0.045
                ? 'leaveDate'
                : r2 < 0.0475
                  ? 'updateDisabled'
                  : r2 < 0.05
                    ? 'snapshotDisabled'
                    : 'normal';
    const terminatedAt = lifecycle === 'normal' ? null : inPeriod(i, 5);
    // A third of the terminated keep using Metabase (a live session, a password login):
    // those are the access-after-termination findings. Leave dates with an enabled
    // account keep signing in through Entra too.
    const continuesAfter = lifecycle === 'reenabled' || lifecycle === 'leaveDate' || (terminatedAt !== null && frac(i, 6) < 0.33);
    if (terminatedAt) {
      if (lifecycle === 'disabledActive' || lifecycle === 'disabledDeactivated') audit('Disable account', terminatedAt, person);
      if (lifecycle === 'reenabled') {
        audit('Disable account', terminatedAt, person);
        audit('Enable account', at(terminatedAt.getTime() + 3 * DAY), person);
      }
      if (lifecycle === 'deleted') {
        audit('Delete user', terminatedAt, person);
        person.deletedAt = terminatedAt;
        person.enabledNow = false;
        // Soft-deleted users are listed with their object id (no hyphens) before the UPN.
        person.upn = `${person.id.replace(/-/g, '')}${person.upn}`;
      }
      if (lifecycle === 'leaveDate') person.leaveAt = terminatedAt;
      if (lifecycle === 'updateDisabled')
        audit('Update user', terminatedAt, person, [{ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' }]);
      if (
        lifecycle === 'disabledActive' ||
        lifecycle === 'disabledDeactivated' ||
        lifecycle === 'updateDisabled' ||
        lifecycle === 'snapshotDisabled'
      )
        person.enabledNow = false;
    }

    const r4 = frac(i, 7);
    const dormantOld = r4 < 0.03;
    const neverUsed = r4 >= 0.03 && r4 < 0.05;
    const young = r4 >= 0.05 && r4 < 0.06;
    const joined = young ? at(asOf.getTime() - 30 * DAY) : joinedLongAgo;
    const activeFrom = spanStart;
    const activeUntil = dormantOld ? at(spanStart.getTime() + 20 * DAY) : terminatedAt && !continuesAfter ? terminatedAt : asOf;
    const accountDisabledInEntra = lifecycle !== 'normal' && lifecycle !== 'leaveDate' && lifecycle !== 'reenabled';
    const r7 = frac(i, 8);
    const mode: Mode = r7 < 0.02 ? 'password-user' : r7 < 0.03 ? 'password-session' : 'sso';
    const r5 = frac(i, 9);
    const r9 = frac(i, 10);
    accounts.push({
      id: i + 1,
      email,
      human,
      link,
      lifecycle,
      terminatedAt,
      continuesAfter,
      personId: linked ? person.id : null,
      mode,
      activeFrom,
      activeUntil,
      // A disabled Entra account cannot sign in: its later Metabase logins are unexplained.
      signInUntil: terminatedAt && accountDisabledInEntra ? terminatedAt : asOf,
      joined,
      isActive: lifecycle !== 'disabledDeactivated',
      deactivatedAt: lifecycle === 'disabledDeactivated' && terminatedAt ? at(terminatedAt.getTime() + DAY) : null,
      superuser: human && r5 < 0.01,
      adminGroup: human && r5 < 0.02,
      inEntraAdminGroup: linked && r5 < 0.02 && frac(i, 11) < 0.5,
      hasActivity: !neverUsed && !young,
      singleFactor: frac(i, 12) < 0.03,
      burst: linked && r9 < 0.01 ? 'failure' : linked && r9 < 0.02 ? 'interrupt' : null,
      burstAt: inPeriod(i, 13),
      team: 3 + (i % 20),
    });
  }
  // Staff without a Metabase account, and directory noise the audit loader must skip.
  for (let i = 0; i < Math.round(N.accounts * 0.05); i++) {
    people.push({
      id: personIdOf(N.accounts + i),
      upn: `staff${i}@contoso.example`,
      mail: `staff${i}@contoso.example`,
      otherMails: [],
      proxyAddresses: [],
      userType: 'Member',
      enabledNow: true,
      deletedAt: null,
      leaveAt: null,
    });
  }
  for (let i = 0; i < Math.round(N.accounts * 0.5); i++) {
    const person = people[i % people.length]!;
    const when = at(spanStart.getTime() + frac(i, 14) * 119 * DAY);
    if (i % 3 === 0) audit('Update user', when, person, [{ displayName: 'Department', oldValue: '["Sales"]', newValue: '["Finance"]' }]);
    else if (i % 3 === 1) audit('Add member to group', when, person);
    else audit('Reset user password', when, person);
  }
  return { people, accounts, audits };
}

// --- SQL helpers for generated rows -----------------------------------------------------

/** Uniform [0, 1) from the series number and a seed, inside SQL. */
const rnd = (column: string, seed: number) => `((hashint8extended(${column}::bigint, ${seed}) & 2147483647)::float8 / 2147483648.0)`;

const signInBlob = {
  appDisplayName: 'Metabase',
  clientAppUsed: 'Browser',
  resourceDisplayName: 'Metabase',
  resourceId: '22222222-2222-4222-8222-222222222222',
  deviceDetail: BENCH_DEVICE,
  location: BENCH_LOCATION,
  appliedConditionalAccessPolicies: [
    MFA_POLICY,
    {
      id: 'a1b2c3d4-0000-0000-0000-000000000002',
      displayName: 'Block legacy authentication',
      enforcedGrantControls: ['Block'],
      enforcedSessionControls: [],
      result: 'notApplied',
    },
  ],
  authenticationDetails: [
    {
      authenticationStepDateTime: null,
      authenticationMethod: 'Password',
      authenticationMethodDetail: 'Password in the cloud',
      succeeded: true,
      authenticationStepResultDetail: 'Correct password',
      authenticationStepRequirement: 'Primary authentication',
    },
  ],
  riskDetail: 'none',
  riskEventTypes_v2: [],
  userAgent:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
};

export interface Step {
  name: string;
  seconds: number;
  rows?: number;
}

export async function timedStep<T>(steps: Step[], name: string, work: () => Promise<T>, rowsOf?: (value: T) => number): Promise<T> {
  const started = performance.now();
  const value = await work();
  const step: Step = { name, seconds: (performance.now() - started) / 1000 };
  if (rowsOf) step.rows = rowsOf(value);
  steps.push(step);
  console.log(
    `  ${name.padEnd(50)} ${step.seconds.toFixed(1).padStart(7)} s${step.rows !== undefined ? `  ${step.rows.toLocaleString('en')} rows` : ''}`,
  );
  return value;
}

/** Runs SQL text with parameters; returns the affected row count. */
export async function exec(db: Kysely<Database>, statement: string, parameters: unknown[] = []): Promise<number> {
  const result = await db.executeQuery(CompiledQuery.raw(statement, parameters));
  return Number(result.numAffectedRows ?? result.rows.length);
}

async function load(db: Kysely<Database>, org: ReturnType<typeof buildOrganisation>): Promise<Step[]> {
  const steps: Step[] = [];
  const evidence = createEvidenceRepository(db);
  const collection = createCollectionRepository(db);
  await collection.upsertSource({ id: ENTRA, kind: 'entra', displayName: 'Contoso (bench)', settings: { metabaseAppIds: [APP_ID] } });
  await collection.upsertSource({ id: METABASE, kind: 'metabase', displayName: 'BI (bench)' });

  // Daily collections over the whole span, every stream: no gap.
  await timedStep(steps, 'coverage windows, capabilities', async () => {
    for (const stream of Object.values(streams)) {
      const source = stream.startsWith('entra') ? ENTRA : METABASE;
      for (let day = spanStart.getTime() - DAY; day < asOf.getTime(); day += DAY) {
        await collection.addCoverage(
          source,
          stream,
          { from: at(day), to: at(Math.min(day + DAY, asOf.getTime())) },
          null,
          stream === streams.entraSignIns ? { graphVersion: 'beta' } : {},
        );
      }
    }
    await collection.setCapability(ENTRA, capabilities.entraSignInsBeta, true, null, null);
    await collection.setCapability(ENTRA, capabilities.entraRiskFields, true, null, null);
    await collection.setCapability(ENTRA, capabilities.entraLeaveDates, true, null, null);
    await collection.setCapability(METABASE, capabilities.metabaseLoginHistory, true, null, null);
    for (const table of ['login_history', 'query_execution', 'view_log', 'audit_log'])
      await collection.setCapability(METABASE, capabilities.metabaseTable(table), true, null, null);
  });

  // --- directory state and audits, through the evidence repository ----------------------
  const snapshot = async (table: StateTableName, source: string, observedAt: Date, records: StateRecord[]) => {
    const writer = await evidence.beginSnapshot(table, source, observedAt);
    for (let i = 0; i < records.length; i += 5000) await writer.write(records.slice(i, i + 5000));
    await writer.finish({ complete: true });
    return records.length;
  };
  const userRecord = (p: Person, current: boolean): StateRecord => {
    const enabled = current ? p.enabledNow : true;
    const upn = current ? p.upn : p.upn.replace(/^[0-9a-f]{32}/, '');
    return {
      upstream_id: p.id,
      raw: {
        id: p.id,
        userPrincipalName: upn,
        mail: p.mail,
        otherMails: p.otherMails,
        proxyAddresses: p.proxyAddresses,
        accountEnabled: enabled,
        userType: p.userType,
      },
      user_principal_name: upn,
      mail: p.mail,
      other_mails: p.otherMails,
      proxy_addresses: p.proxyAddresses,
      account_enabled: enabled,
      user_type: p.userType,
      created_date_time: joinedLongAgo.toISOString(),
      deleted_date_time: current && p.deletedAt ? p.deletedAt.toISOString() : null,
      employee_leave_date_time: current && p.leaveAt ? p.leaveAt.toISOString() : null,
    };
  };
  await timedStep(
    steps,
    'entra users (2 snapshots, repository)',
    async () => {
      await snapshot(
        'entra_user_version',
        ENTRA,
        spanStart,
        org.people.map((p) => userRecord(p, false)),
      );
      return snapshot(
        'entra_user_version',
        ENTRA,
        stateObservedAt,
        org.people.map((p) => userRecord(p, true)),
      );
    },
    (n) => n * 2,
  );
  await timedStep(
    steps,
    'entra directory audits (repository)',
    async () => {
      const records = org.audits.map((a) => ({
        upstream_id: a.id,
        occurred_at: a.at,
        raw: {
          id: a.id,
          category: 'UserManagement',
          activityDateTime: a.at.toISOString(),
          activityDisplayName: a.activity,
          operationType: 'Update',
          result: 'success',
          initiatedBy: { user: { id: 'ffffffff-0000-4000-8000-000000000001', userPrincipalName: 'it-admin@contoso.example' } },
          targetResources: [{ id: a.target, type: 'User', userPrincipalName: a.upn, modifiedProperties: a.modified }],
        },
        activity: a.activity,
        category: 'UserManagement',
        operation_type: 'Update',
        result: 'success',
        initiated_by_user_id: 'ffffffff-0000-4000-8000-000000000001',
        target_ids: [a.target],
      }));
      await evidence.writeEvents('entra_directory_audit', ENTRA, records);
      return records.length;
    },
    (n) => n,
  );
  await timedStep(
    steps,
    'groups, memberships, credentials, keys',
    async () => {
      const members = org.accounts.filter((a) => a.inEntraAdminGroup && a.personId).map((a) => a.personId!);
      for (let i = 0; i < 50; i++) members.push(personIdOf(N.accounts + i));
      await snapshot(
        'entra_group_member_version',
        ENTRA,
        stateObservedAt,
        [...new Set(members)].map((m, i) => ({
          upstream_id: `${ADMIN_GROUP}:${m}`,
          raw: { id: m },
          group_id: ADMIN_GROUP,
          member_id: m,
          member_type: 'user',
          transitive: i % 4 !== 0,
        })),
      );
      const groups = [
        { id: 1, name: 'All Users', magic: 'all-internal-users' },
        { id: 2, name: 'Administrators', magic: 'admin' },
        ...Array.from({ length: 20 }, (_, k) => ({ id: 3 + k, name: `Team ${k + 1}`, magic: null })),
      ];
      await snapshot(
        'metabase_group_version',
        METABASE,
        stateObservedAt,
        groups.map((g) => ({ upstream_id: String(g.id), raw: g, name: g.name, magic_group_type: g.magic })),
      );
      const memberships: StateRecord[] = [];
      for (const a of org.accounts.filter((x) => x.human)) {
        for (const group of [1, a.adminGroup ? 2 : null, a.team]) {
          if (group !== null)
            memberships.push({
              upstream_id: `${a.id}:${group}`,
              raw: { user_id: a.id, group_id: group },
              user_id: a.id,
              group_id: group,
              is_group_manager: false,
            });
        }
      }
      await snapshot('metabase_membership_version', METABASE, stateObservedAt, memberships);
      const cred = (keyId: string, start: number, end: number, type: string) => ({
        upstream_id: `app-object:${keyId}`,
        raw: { keyId, displayName: `${type} ${keyId.slice(0, 4)}` },
        owner_id: 'app-object',
        owner_kind: 'application',
        app_id: APP_ID,
        key_id: keyId,
        credential_type: type,
        display_name: `${type} ${keyId.slice(0, 4)}`,
        start_date_time: at(start).toISOString(),
        end_date_time: at(end).toISOString(),
      });
      const now = asOf.getTime();
      await snapshot('entra_credential_version', ENTRA, stateObservedAt, [
        cred('c0000001-0000-4000-8000-000000000001', now - 200 * DAY, now + 500 * DAY, 'password'),
        cred('c0000001-0000-4000-8000-000000000002', now - 60 * DAY, now - DAY, 'password'),
        cred('c0000001-0000-4000-8000-000000000003', now - 30 * DAY, now + 10 * DAY, 'certificate'),
        cred('c0000001-0000-4000-8000-000000000004', now - 10 * DAY, now + 355 * DAY, 'password'),
      ]);
      await snapshot('metabase_api_key_version', METABASE, stateObservedAt, [
        {
          upstream_id: '1',
          raw: { id: 1 },
          key_prefix: 'mb_Ab12',
          name: 'ETL',
          user_id: 900001,
          creator_id: 1,
          created_at_source: at(now - 300 * DAY).toISOString(),
          scope: null,
        },
        {
          upstream_id: '2',
          raw: { id: 2 },
          key_prefix: 'mb_Cd34',
          name: 'Embedding',
          user_id: 900002,
          creator_id: 1,
          created_at_source: at(now - 20 * DAY).toISOString(),
          scope: null,
        },
      ]);
      return memberships.length;
    },
    (n) => n,
  );

  // --- bulk events, generated in SQL ----------------------------------------------------
  await exec(
    db,
    `
    create table bench_account (
      account_id bigint primary key, person_id text, upn text, human boolean, linked boolean, mode text,
      login_slot int, query_slot int, sign_in_slot int, active_from timestamptz, active_until timestamptz, sign_in_until timestamptz,
      ip text, single_factor boolean, burst text, burst_at timestamptz)`,
  );
  const personById = new Map(org.people.map((p) => [p.id, p]));
  let loginSlots = 0;
  let querySlots = 0;
  let signInSlots = 0;
  const rows = org.accounts.map((a) => {
    const loginSlot = a.hasActivity && a.human ? loginSlots++ : null;
    const querySlot = a.hasActivity ? querySlots++ : null;
    const signInSlot = a.personId !== null && a.hasActivity ? signInSlots++ : null;
    const upn = a.personId
      ? personById
          .get(a.personId)!
          .upn.replace(/^[0-9a-f]{32}/, '')
          .toLowerCase()
      : null;
    return [
      a.id,
      a.personId,
      upn,
      a.human,
      a.personId !== null,
      a.mode,
      loginSlot,
      querySlot,
      signInSlot,
      a.activeFrom.toISOString(),
      a.activeUntil.toISOString(),
      a.signInUntil.toISOString(),
      `203.0.${(a.id >> 8) & 255}.${a.id & 255}`,
      a.singleFactor,
      a.burst,
      a.burstAt?.toISOString() ?? null,
    ];
  });
  for (let i = 0; i < rows.length; i += 2000) {
    await exec(db, `insert into bench_account select * from jsonb_populate_recordset(null::bench_account, $1::jsonb)`, [
      JSON.stringify(
        rows.slice(i, i + 2000).map((r) => ({
          account_id: r[0],
          person_id: r[1],
          upn: r[2],
          human: r[3],
          linked: r[4],
          mode: r[5],
          login_slot: r[6],
          query_slot: r[7],
          sign_in_slot: r[8],
          active_from: r[9],
          active_until: r[10],
          sign_in_until: r[11],
          ip: r[12],
          single_factor: r[13],
          burst: r[14],
          burst_at: r[15],
        })),
      ),
    ]);
  }
  await exec(db, 'analyze bench_account');

  const months: Date[] = [];
  for (
    let m = new Date(Date.UTC(spanStart.getUTCFullYear(), spanStart.getUTCMonth() - 1, 1));
    m <= asOf;
    m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))
  )
    months.push(m);
  const known = new Set<string>();
  await ensureMonthlyPartitions(db, 'entra_sign_in', months, known);
  await ensureMonthlyPartitions(db, 'metabase_query_execution', months, known);

  // One placeholder batch for every generated row (written after the repository's
  // batches, so the chain above stays whole up to it).
  const { rows: batchRows } = await sql<{ id: number }>`
    insert into evidence_batch (source_id, target_table, row_count, content_sha256, previous_chain_sha256, chain_sha256, written_at)
    values (${METABASE}, 'bench:generated', 0, 'bench', 'bench', 'bench', now()) returning id`.execute(db);
  const batch = batchRows[0]!.id;
  const window = (g: string, seed: number) => `a.active_from + (a.active_until - a.active_from) * ${rnd(g, seed)}`;
  const chunk = 1_000_000;
  const chunked = async (total: number, run: (lo: number, hi: number) => Promise<number>) => {
    let done = 0;
    for (let lo = 1; lo <= total; lo += chunk) done += await run(lo, Math.min(total, lo + chunk - 1));
    return done;
  };

  await timedStep(
    steps,
    'metabase logins (generated)',
    () =>
      chunked(N.logins, (lo, hi) =>
        exec(
          db,
          `
        insert into metabase_login (source_id, upstream_id, occurred_at, user_id, session_key, device_id, ip_address, batch_id, record_sha256, raw)
        select $1, x.g::text, x.at, x.account_id, x.session_key, x.device_id, x.ip, $2, md5('login' || x.g), jsonb_build_object(
                 'id', x.g, 'user_id', x.account_id, 'timestamp', x.at, 'device_id', x.device_id, 'ip_address', x.ip, 'active', false,
                 'device_description', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15')
        from (
          select g, a.account_id, ${window('g', 1)} as at,
                 case when a.mode = 'password-user' then null else md5('session' || g) end as session_key,
                 md5('device' || a.account_id) as device_id,
                 case when ${rnd('g', 2)} < 0.05 then '198.51.100.' || (g % 250) else a.ip end as ip
          from generate_series($3::bigint, $4::bigint) g
          join bench_account a on a.login_slot = (hashint8extended(g, 3) & 2147483647) % $5
        ) x`,
          [METABASE, batch, lo, hi, loginSlots],
        ),
      ),
    (n) => n,
  );

  await timedStep(
    steps,
    'metabase auth identities + sessions (generated)',
    async () => {
      await exec(
        db,
        `
      insert into metabase_auth_identity (source_id, upstream_id, occurred_at, user_id, provider, provider_id, last_used_at, batch_id, record_sha256, raw)
      select $1, a.account_id::text, $2::timestamptz, a.account_id, case when a.mode = 'password-session' then 'password' else 'saml' end, null, null, $3, md5('ai' || a.account_id),
             jsonb_build_object('id', a.account_id, 'user_id', a.account_id, 'provider', case when a.mode = 'password-session' then 'password' else 'saml' end)
      from bench_account a where a.human`,
        [METABASE, joinedLongAgo.toISOString(), batch],
      );
      return exec(
        db,
        `
      insert into metabase_session (source_id, upstream_id, occurred_at, user_id, auth_identity_id, batch_id, record_sha256, raw)
      select l.source_id, l.session_key, l.occurred_at, l.user_id, l.user_id, $1, md5('s' || l.upstream_id),
             jsonb_build_object('user_id', l.user_id, 'created_at', l.occurred_at, 'anti_csrf_token', null, 'auth_identity_id', l.user_id)
      from metabase_login l where l.session_key is not null`,
        [batch],
      );
    },
    (n) => n,
  );

  const signInInsert = `insert into entra_sign_in (source_id, upstream_id, occurred_at, user_id, user_principal_name, app_id, ip_address, error_code, is_interactive,
      event_types, authentication_requirement, risk_level_during_sign_in, risk_state, conditional_access_status, correlation_id, graph_version, batch_id, record_sha256, raw)`;
  const signInRaw = (alias: string) =>
    `jsonb_build_object('id', ${alias}.id, 'createdDateTime', ${alias}.at, 'userId', ${alias}.person_id, 'userPrincipalName', ${alias}.upn, 'appId', ${alias}.app_id,
       'ipAddress', ${alias}.ip, 'status', jsonb_build_object('errorCode', ${alias}.error_code, 'failureReason', case when ${alias}.error_code = 0 then null else 'Sign-in failed' end),
       'isInteractive', ${alias}.interactive, 'authenticationRequirement', ${alias}.requirement, 'riskLevelDuringSignIn', ${alias}.risk, 'riskState', ${alias}.risk_state,
       'correlationId', ${alias}.id, 'conditionalAccessStatus', 'success', 'signInEventTypes', jsonb_build_array(case when ${alias}.interactive then 'interactiveUser' else 'nonInteractiveUser' end)) || $3::jsonb`;
  const signInColumns = (alias: string) =>
    `$1, ${alias}.id, ${alias}.at, ${alias}.person_id, ${alias}.upn, ${alias}.app_id, ${alias}.ip, ${alias}.error_code, ${alias}.interactive,
     array[case when ${alias}.interactive then 'interactiveUser' else 'nonInteractiveUser' end], ${alias}.requirement, ${alias}.risk, ${alias}.risk_state, 'success', ${alias}.id, 'beta',
     $2, md5(${alias}.id), ${signInRaw(alias)}`;

  const explained = await timedStep(
    steps,
    'entra sign-ins explaining logins (generated)',
    () =>
      exec(
        db,
        `
      ${signInInsert}
      select ${signInColumns('x')}
      from (
        select md5('si' || l.upstream_id)::uuid::text as id, a.person_id, a.upn, '${APP_ID}' as app_id, 0 as error_code, true as interactive,
               -- most 0–5 min before the login, a few up to 1 min after, one in a thousand 15–20 min before (unexplained)
               l.occurred_at - case when r.v < 0.001 then make_interval(secs => 900 + (r.h % 300)) when r.v < 0.02 then -make_interval(secs => r.h % 60) else make_interval(secs => r.h % 301) end as at,
               case when ${rnd('r.h', 4)} < 0.03 then '192.0.2.' || (r.h % 250) else a.ip end as ip,
               case when a.single_factor or ${rnd('r.h', 5)} < 0.001 then 'singleFactorAuthentication' else 'multiFactorAuthentication' end as requirement,
               case when ${rnd('r.h', 6)} < 0.0005 then 'medium' when ${rnd('r.h', 6)} < 0.0007 then 'high' else 'none' end as risk,
               case when ${rnd('r.h', 6)} < 0.0007 then 'atRisk' when ${rnd('r.h', 7)} < 0.0002 then 'atRisk' else 'none' end as risk_state
        from metabase_login l
        join bench_account a on a.account_id = l.user_id
        cross join lateral (select ${rnd('l.upstream_id', 8)} as v, hashint8extended(l.upstream_id::bigint, 9) & 2147483647 as h) r
        where a.linked and a.mode = 'sso' and l.occurred_at < a.sign_in_until
      ) x`,
        [ENTRA, batch, JSON.stringify(signInBlob)],
      ),
    (n) => n,
  );

  const bursts = await timedStep(
    steps,
    'entra failed and interrupt bursts (generated)',
    () =>
      exec(
        db,
        `
      ${signInInsert}
      select ${signInColumns('x')}
      from (
        select md5('burst' || a.account_id || ':' || k)::uuid::text as id, a.person_id, a.upn, '${APP_ID}' as app_id,
               case when a.burst = 'failure' then (array[50126, 50126, 50053])[1 + k % 3] else (array[50074, 50076, 50140])[1 + k % 3] end as error_code,
               true as interactive, a.burst_at + make_interval(secs => k * 40) as at, a.ip, null::text as requirement, 'none' as risk, 'none' as risk_state
        from bench_account a cross join generate_series(1, 12) k
        where a.burst is not null
      ) x`,
        [ENTRA, batch, JSON.stringify(signInBlob)],
      ),
    (n) => n,
  );

  const fill = Math.max(0, N.signIns - explained - bursts);
  await timedStep(
    steps,
    'entra other sign-ins (generated)',
    () =>
      exec(
        db,
        `
      ${signInInsert}
      select ${signInColumns('x')}
      from (
        select md5('other' || g)::uuid::text as id, a.person_id, a.upn,
               case when ${rnd('g', 10)} < 0.4 then '${OTHER_APP_ID}' else '${APP_ID}' end as app_id,
               case when ${rnd('g', 10)} between 0.4 and 0.7 then (array[50126, 50053, 50055, 50074])[1 + g % 4] else 0 end as error_code,
               ${rnd('g', 10)} < 0.7 as interactive,
               ${window('g', 11)} as at, a.ip, 'multiFactorAuthentication' as requirement, 'none' as risk, 'none' as risk_state
        from generate_series(1, $4::bigint) g
        join bench_account a on a.sign_in_slot = (hashint8extended(g, 12) & 2147483647) % $5
      ) x`,
        [ENTRA, batch, JSON.stringify(signInBlob), fill, signInSlots],
      ),
    (n) => n,
  );

  await timedStep(
    steps,
    'metabase query executions (generated)',
    () =>
      chunked(N.queries, (lo, hi) =>
        exec(
          db,
          `
        insert into metabase_query_execution (source_id, upstream_id, occurred_at, executor_id, context, card_id, dashboard_id, database_id, native, result_rows,
          running_time_ms, has_error, batch_id, record_sha256, raw)
        select $1, x.g::text, x.at, x.executor, x.context, x.card, x.dashboard, 1, x.native, x.result_rows, x.running, x.has_error, $2, md5('q' || x.g),
               jsonb_build_object('id', x.g, 'hash', md5('h' || x.card), 'started_at', x.at, 'running_time', x.running, 'result_rows', x.result_rows,
                 'native', x.native, 'context', x.context, 'error', case when x.has_error then 'Query timed out' end, 'executor_id', x.executor,
                 'card_id', x.card, 'dashboard_id', x.dashboard, 'pulse_id', null, 'database_id', 1, 'cache_hit', false, 'action_id', null, 'is_sandboxed', false,
                 'cache_hash', null, 'embedding_client', null, 'embedding_version', null)
        from (
          select g, ${window('g', 13)} as at,
                 case when ${rnd('g', 14)} < 0.05 then null else a.account_id end as executor,
                 case when ${rnd('g', 15)} < 0.03 then 'pulse' when ${rnd('g', 15)} < 0.5 then 'question' when ${rnd('g', 15)} < 0.85 then 'dashboard' else 'ad-hoc' end as context,
                 1 + (g % 4000) as card, case when g % 3 = 0 then 1 + (g % 600) end as dashboard, g % 10 = 0 as native,
                 (g % 5000)::int as result_rows, (g % 9000)::int as running, g % 200 = 0 as has_error
          from generate_series($3::bigint, $4::bigint) g
          join bench_account a on a.query_slot = (hashint8extended(g, 16) & 2147483647) % $5
        ) x`,
          [METABASE, batch, lo, hi, querySlots],
        ),
      ),
    (n) => n,
  );

  await timedStep(
    steps,
    'metabase views and audit events (generated)',
    async () => {
      const views = await exec(
        db,
        `
      insert into metabase_view (source_id, upstream_id, occurred_at, user_id, model, model_id, has_access, context, batch_id, record_sha256, raw)
      select $1, g::text, ${window('g', 17)}, a.account_id, case when g % 2 = 0 then 'card' else 'dashboard' end, 1 + g % 4000, true, 'question', $2, md5('v' || g),
             jsonb_build_object('id', g, 'user_id', a.account_id, 'model', case when g % 2 = 0 then 'card' else 'dashboard' end, 'model_id', 1 + g % 4000)
      from generate_series(1, $3::bigint) g join bench_account a on a.login_slot = (hashint8extended(g, 18) & 2147483647) % $4`,
        [METABASE, batch, N.views, loginSlots],
      );
      const events = await exec(
        db,
        `
      insert into metabase_audit_event (source_id, upstream_id, occurred_at, topic, user_id, model, model_id, batch_id, record_sha256, raw)
      select $1, g::text, ${window('g', 19)}, (array['card-create', 'card-update', 'dashboard-create', 'dashboard-add-cards', 'user-login'])[1 + g % 5], a.account_id, 'Card', 1 + g % 4000, $2, md5('e' || g),
             jsonb_build_object('id', g, 'user_id', a.account_id, 'model', 'Card', 'model_id', 1 + g % 4000)
      from generate_series(1, $3::bigint) g join bench_account a on a.login_slot = (hashint8extended(g, 20) & 2147483647) % $4`,
        [METABASE, batch, N.auditEvents, loginSlots],
      );
      return views + events;
    },
    (n) => n,
  );

  // Accounts last: last_login is Metabase's own record of the latest login.
  await timedStep(
    steps,
    'metabase accounts (snapshot, repository)',
    async () => {
      const { rows: last } = await sql<{
        user_id: number;
        at: Date;
      }>`select user_id, max(occurred_at) as at from metabase_login group by user_id`.execute(db);
      const lastLogin = new Map(last.map((row) => [Number(row.user_id), new Date(row.at)]));
      const records: StateRecord[] = org.accounts.map((a) => ({
        upstream_id: String(a.id),
        raw: { id: a.id, email: a.email, is_active: a.isActive, is_superuser: a.superuser },
        email: a.email,
        first_name: `First${a.id}`,
        last_name: `Last${a.id}`,
        account_type: a.human ? 'personal' : 'api-key',
        is_human: a.human,
        is_active: a.isActive,
        is_superuser: a.superuser,
        sso_source: a.human ? (a.mode === 'sso' ? 'saml' : null) : null,
        date_joined: a.joined.toISOString(),
        last_login: lastLogin.get(a.id)?.toISOString() ?? null,
        deactivated_at: a.deactivatedAt?.toISOString() ?? null,
      }));
      records.push({
        upstream_id: '13371338',
        raw: { id: 13371338 },
        email: 'internal@metabase.com',
        account_type: 'internal',
        is_human: false,
        is_active: true,
        is_superuser: false,
        sso_source: null,
        date_joined: joinedLongAgo.toISOString(),
        last_login: null,
        deactivated_at: null,
      });
      return snapshot('metabase_account_version', METABASE, stateObservedAt, records);
    },
    (n) => n,
  );

  await exec(db, 'drop table bench_account');
  // A store that has been collected into for months has been vacuumed and analysed by
  // autovacuum; a freshly generated one has not, so do it before measuring.
  await timedStep(steps, 'vacuum analyze', async () => {
    for (const table of [
      'entra_sign_in',
      'metabase_login',
      'metabase_session',
      'metabase_auth_identity',
      'metabase_query_execution',
      'metabase_view',
      'metabase_audit_event',
      'entra_directory_audit',
      'entra_user_version',
      'metabase_account_version',
      'metabase_membership_version',
      'entra_group_member_version',
    ]) {
      await exec(db, `vacuum (analyze) ${table}`);
    }
  });
  return steps;
}

export interface GeneratedStore {
  sizes: ReturnType<typeof correlationStoreSizes>;
  people: number;
  accounts: number;
  audits: number;
  steps: Step[];
  seconds: number;
}

/** Fills an empty, migrated store at `scale`. */
export async function generateCorrelationStore(db: Kysely<Database>, scale: number): Promise<GeneratedStore> {
  N = correlationStoreSizes(scale);
  const started = performance.now();
  const org = buildOrganisation();
  const steps = await load(db, org);
  return {
    sizes: N,
    people: org.people.length,
    accounts: org.accounts.length,
    audits: org.audits.length,
    steps,
    seconds: (performance.now() - started) / 1000,
  };
}

/** A fresh database on the local Postgres with the generated store in it. */
export async function createCorrelationStore(scale: number): Promise<{ url: string; generated: GeneratedStore; drop(): Promise<void> }> {
  const database = await createTestDatabase('accesstrail_bench');
  const store = await openStore({ databaseUrl: database.url, poolSize: 4 });
  try {
    const generated = await generateCorrelationStore(store.db, scale);
    return { url: database.url, generated, drop: () => database.drop() };
  } catch (error) {
    await store.close();
    await database.drop();
    throw error;
  } finally {
    await store.close().catch(() => undefined);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const index = process.argv.indexOf('--scale');
  const scale = index > 0 ? Number(process.argv[index + 1]) : 1;
  const made = await createCorrelationStore(scale);
  console.log(`generated in ${made.generated.seconds.toFixed(1)} s; kept store: ${made.url}`);
}

/** Scale of the store per table size: 10k, 100k, 1M sign-ins (5M query executions at 1M). */
export function scaleForSize(size: 'quick' | '10k' | '100k' | '1m'): number {
  return size === '1m' ? 1 : size === '100k' ? 0.1 : 0.01;
}

/** A store to measure on instead of the shared one, named by the environment:
 *  ACCESSTRAIL_BENCH_STORE_1M, _100K or _10K (quick uses the 10K one) holding a Postgres
 *  URL of a store generated at that scale (`npx tsx bench/lib/correlation-store.ts
 *  --scale 1` makes one). It is never generated nor dropped by the benchmarks. */
export function givenCorrelationStore(scale: number): string | undefined {
  const label = scale === 1 ? '1M' : scale === 0.1 ? '100K' : scale === 0.01 ? '10K' : undefined;
  return label ? process.env[`ACCESSTRAIL_BENCH_STORE_${label}`] || undefined : undefined;
}

/** Bump when the generator changes: a kept store of another version is rebuilt. */
const GENERATOR_VERSION = 1;

/** The generated store at `scale`, shared by the benchmarks of one `npm run bench` (and
 *  kept between runs until `dropSharedCorrelationStores`): a database named after the
 *  scale, reused when a complete one of this generator version exists. */
export async function sharedCorrelationStore(scale: number): Promise<string> {
  const given = givenCorrelationStore(scale);
  if (given) return given;
  const name = `accesstrail_benchstore_${String(scale).replace('.', '_')}_v${GENERATOR_VERSION}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  try {
    const { rows } = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (rows.length > 0) {
      const probe = new pg.Client({ connectionString: url.toString() });
      await probe.connect();
      const done = await probe.query(`select to_regclass('bench_store_complete') is not null as done`).finally(() => probe.end());
      if (done.rows[0]?.done) return url.toString();
      await admin.query(`drop database ${name} with (force)`);
    }
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const store = await openStore({ databaseUrl: url.toString(), poolSize: 4 });
  try {
    const generated = await generateCorrelationStore(store.db, scale);
    await sql`create table bench_store_complete (generated_at timestamptz default now(), seconds float8)`.execute(store.db);
    await sql`insert into bench_store_complete (seconds) values (${generated.seconds})`.execute(store.db);
  } finally {
    await store.close();
  }
  return url.toString();
}

export async function dropSharedCorrelationStores(): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname like 'accesstrail\\_benchstore\\_%'`,
    );
    for (const row of rows) await admin.query(`drop database ${row.datname} with (force)`);
  } finally {
    await admin.end();
  }
}
