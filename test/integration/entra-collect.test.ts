// The Entra collector against the HTTPS emulator, through the real @azure/identity and
// graph-client, into the local Postgres: exactness, idempotence, resumption, faults.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { collectEntra, type EntraTuning } from '../../src/collectors/entra/index.js';
import { type CollectContext, silentProgress, type SourceSummary } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import { type EntraEmulator, type GraphObject, startEntraEmulator } from '../../src/emulators/entra/index.js';
import {
  SAMPLE_ADMIN_GROUP_ID,
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_COLLECTOR_SECRET,
  SAMPLE_METABASE_APP_ID,
  sampleDataset,
} from '../../src/emulators/entra/sample.js';
import { isAppError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import type { Store } from '../../src/store/database.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { decodeEventRow, storedRaw } from '../../src/store/record-codec.js';
import { capabilities, entraSourceId, streams } from '../../src/store/streams.js';
import { openTestStore, type TestStore } from '../support/database.js';

const T = new Date(Math.floor(Date.now() / 1000) * 1000);
const SINCE = new Date(T.getTime() - 4 * 86_400_000);
const HOUR = 3_600_000;

/** Scaled-down pacing and retries so the suite takes seconds: 5 requests per 300 ms. */
const fastTuning = (emulator: EntraEmulator, extra: EntraTuning = {}): EntraTuning => ({
  tlsCa: emulator.caCertificatePem,
  reportingLimit: null,
  retry: { baseDelayMs: 5, maxDelayMs: 100, maxElapsedMs: 20_000, maxAttempts: 12 },
  requestTimeoutMs: 5_000,
  ...extra,
});

function configFor(emulator: EntraEmulator, overrides: Record<string, string> = {}) {
  return parseConfig({
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
    AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    GRAPH_BASE_URL: emulator.graphBaseUrl,
    ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
    ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
    ...overrides,
  });
}

async function collect(
  store: Store,
  emulator: EntraEmulator,
  options: { now?: Date; signal?: AbortSignal; tuning?: EntraTuning; env?: Record<string, string>; since?: Date | null } = {},
): Promise<SourceSummary> {
  const collection = createCollectionRepository(store.db);
  const runId = await collection.startRun('collect', {});
  const context: CollectContext = {
    store,
    evidence: createEvidenceRepository(store.db),
    collection,
    config: configFor(emulator, options.env),
    logger: createLogger({ level: 'silent' }),
    runId,
    progress: silentProgress,
    now: () => options.now ?? T,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const since = options.since === null ? undefined : (options.since ?? SINCE);
  return collectEntra(context, { ...(since ? { since } : {}), entra: options.tuning ?? fastTuning(emulator) });
}

const eventTables = ['entra_sign_in', 'entra_directory_audit'] as const;
const stateTables = [
  'entra_user_version',
  'entra_group_version',
  'entra_group_member_version',
  'entra_application_version',
  'entra_credential_version',
  'entra_app_role_assignment_version',
] as const;

/** What a store holds for the source: events with revisions, latest present state, coverage. */
async function storeContents(store: Store, sourceId: string) {
  const out: Record<string, unknown> = {};
  for (const table of eventTables) {
    const { rows } = await sql<{ upstream_id: string; occurred_at: Date; raw: unknown; revision: number }>`
      select * from ${sql.table(table)} where source_id = ${sourceId} order by upstream_id`.execute(store.db);
    // The record through the store's decoder (packed or not, migration 0012).
    out[table] = rows.map((r) => ({
      upstream_id: r.upstream_id,
      occurred_at: new Date(r.occurred_at).toISOString(),
      raw: storedRaw(r),
      revision: r.revision,
    }));
  }
  for (const table of stateTables) {
    const { rows } = await sql<{ upstream_id: string; present: boolean; raw: unknown }>`
      select * from (select distinct on (upstream_id) upstream_id, present, raw from ${sql.table(table)}
                     where source_id = ${sourceId} order by upstream_id, observed_at desc) latest
      where present order by upstream_id`.execute(store.db);
    out[table] = rows;
  }
  const collection = createCollectionRepository(store.db);
  for (const stream of [streams.entraSignIns, streams.entraDirectoryAudits]) {
    out[`coverage:${stream}`] = (await collection.coverageOf(sourceId, stream)).map((r) => [r.from.toISOString(), r.to.toISOString()]);
  }
  return out as Record<string, Array<{ upstream_id: string; revision?: number; raw: unknown }>> & Record<string, unknown>;
}

async function ids(store: Store, table: string, sourceId: string): Promise<string[]> {
  const contents = (await storeContents(store, sourceId))[table] as Array<{ upstream_id: string }>;
  return contents.map((r) => r.upstream_id).sort();
}

async function count(store: Store, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(store.db);
  return rows[0]!.n;
}

describe('Entra collection against the emulator', () => {
  let emulator: EntraEmulator;
  let clean: TestStore;
  let sourceId: string;
  let firstSummary: SourceSummary;

  beforeAll(async () => {
    emulator = await startEntraEmulator({ dataset: sampleDataset({ now: T, days: 3, signIns: 60 }), maxPageSize: 7 });
    // A secret that upstream should never send back, and must never be stored if it is.
    (emulator.dataset.applications[0]!['passwordCredentials'] as GraphObject[])[0]!['secretText'] = 'LEAKED-SECRET-TEXT';
    sourceId = entraSourceId(emulator.tenantId);
    clean = await openTestStore('postgres');
    firstSummary = await collect(clean, emulator);
  });
  afterAll(async () => {
    await emulator?.close();
    await clean?.dispose();
  });

  it('stores exactly what the emulator holds, per stream', async () => {
    const ds = emulator.dataset;
    const metabaseSignIns = ds.signIns.filter((s) => s['appId'] === SAMPLE_METABASE_APP_ID).map((s) => s.id!);
    expect(metabaseSignIns.length).toBe(60);
    expect(await ids(clean, 'entra_sign_in', sourceId)).toEqual([...metabaseSignIns].sort());
    expect(await ids(clean, 'entra_directory_audit', sourceId)).toEqual(ds.directoryAudits.map((a) => a.id!).sort());
    expect(await ids(clean, 'entra_user_version', sourceId)).toEqual([...ds.users, ...ds.deletedUsers].map((u) => u.id!).sort());
    expect(await ids(clean, 'entra_group_version', sourceId)).toEqual(ds.groups.map((g) => g.id).sort());
    expect(await ids(clean, 'entra_application_version', sourceId)).toEqual(
      [...ds.applications, ...ds.servicePrincipals].map((a) => a.id!).sort(),
    );
    expect(await ids(clean, 'entra_app_role_assignment_version', sourceId)).toEqual(ds.appRoleAssignments.map((a) => a.id!).sort());
    const credentialIds = ds.applications.flatMap((a) =>
      [...(a['passwordCredentials'] as GraphObject[]), ...(a['keyCredentials'] as GraphObject[])].map(
        (c) => `${a.id}:${String(c['keyId'])}`,
      ),
    );
    expect(await ids(clean, 'entra_credential_version', sourceId)).toEqual(credentialIds.sort());

    // Members: direct members of the assigned group, transitive members of the admin group
    // (a user, the nested group, and the nested group's users).
    const analysts = ds.groups[0]!;
    const admins = ds.groups[1]!;
    const nested = ds.groups[2]!;
    const expectedMembers = [
      ...analysts.members.map((m) => `${analysts.id}:${m}`),
      ...[...admins.members, ...nested.members].map((m) => `${admins.id}:${m}`),
    ].sort();
    expect(await ids(clean, 'entra_group_member_version', sourceId)).toEqual(expectedMembers);
    const { rows: memberRows } = await sql<{
      transitive: boolean;
      member_type: string;
    }>`select transitive, member_type from entra_group_member_version where group_id = ${admins.id}`.execute(clean.db);
    expect(memberRows.every((r) => r.transitive)).toBe(true);
    expect(memberRows.map((r) => r.member_type)).toContain('group');

    const signIn = await sql<{ user_principal_name: string; event_types: string[]; graph_version: string; error_code: number }>`
      select * from entra_sign_in where upstream_id = ${metabaseSignIns[8]!}`.execute(clean.db);
    const row = decodeEventRow('entra_sign_in', signIn.rows[0]!);
    expect(row).toMatchObject({ user_principal_name: 'user8@contoso.example', graph_version: 'beta', error_code: 50126 });
    expect(row.event_types).toEqual(['nonInteractiveUser']);
  });

  it('covers the requested range in whole windows and records the checkpoints and capabilities', async () => {
    const collection = createCollectionRepository(clean.db);
    for (const stream of [streams.entraSignIns, streams.entraDirectoryAudits]) {
      expect(await collection.coverageOf(sourceId, stream)).toEqual([{ from: SINCE, to: T }]);
      expect(await collection.getCheckpoint<{ coveredTo: string }>(sourceId, stream)).toMatchObject({ coveredTo: T.toISOString() });
    }
    const { rows } = await sql<{
      capability: string;
      available: boolean;
    }>`select capability, available from source_capability where source_id = ${sourceId} order by capability`.execute(clean.db);
    expect(Object.fromEntries(rows.map((r) => [r.capability, r.available]))).toEqual({
      [capabilities.entraLeaveDates]: true,
      [capabilities.entraRiskFields]: true,
      [capabilities.entraSignInsBeta]: true,
    });
    const signIns = firstSummary.streams.find((s) => s.stream === streams.entraSignIns)!;
    expect(signIns).toMatchObject({ records: 60, inserted: 60, revised: 0, quarantined: 0 });
    const snapshots = await clean.db.selectFrom('snapshot').select(['stream', 'complete']).execute();
    expect(snapshots).toHaveLength(6);
    expect(snapshots.every((s) => s.complete)).toBe(true);
  });

  it('never stores secret text or key material', async () => {
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from (
        select raw::text as t from entra_application_version union all select raw::text from entra_credential_version) x
      where t like '%LEAKED-SECRET-TEXT%' or t like '%secretText%'`.execute(clean.db);
    expect(rows[0]!.n).toBe(0);
  });

  it('adds nothing on a second run, picks up a late record in the overlap, and counts a revision', async () => {
    const before = await storeContents(clean, sourceId);
    const T2 = new Date(T.getTime() + HOUR);
    const again = await collect(clean, emulator, { now: T2 });
    for (const stream of again.streams)
      expect({ stream: stream.stream, inserted: stream.inserted, revised: stream.revised }).toEqual({
        stream: stream.stream,
        inserted: 0,
        revised: 0,
      });
    const after = await storeContents(clean, sourceId);
    for (const table of [...eventTables, ...stateTables]) expect(after[table]).toEqual(before[table]);
    expect(await count(clean, 'entra_sign_in')).toBe(60);

    // Late: created 2 h before the first run's end, published after it; inside the 3 h overlap.
    const late = { ...emulator.dataset.signIns[0]!, id: 'late-sign-in', createdDateTime: new Date(T.getTime() - 2 * HOUR).toISOString() };
    emulator.dataset.signIns.push(late);
    // Revised: Entra republishes a recent record with risk added.
    const recent = emulator.dataset.signIns
      .filter((s) => s['appId'] === SAMPLE_METABASE_APP_ID)
      .sort((a, b) => String(b['createdDateTime']).localeCompare(String(a['createdDateTime'])))[0]!;
    recent['riskState'] = 'atRisk';
    const third = await collect(clean, emulator, { now: new Date(T2.getTime() + HOUR) });
    const signIns = third.streams.find((s) => s.stream === streams.entraSignIns)!;
    expect(signIns).toMatchObject({ inserted: 1, revised: 1 });
    const row = await clean.db
      .selectFrom('entra_sign_in')
      .select(['revision', 'risk_state'])
      .where('upstream_id', '=', recent.id!)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ revision: 2, risk_state: 'atRisk' });
    expect(await count(clean, 'entra_sign_in')).toBe(61);
    emulator.dataset.signIns.pop();
    recent['riskState'] = 'none';
  });
});

describe('Entra collection interrupted, throttled and faulty', () => {
  let emulator: EntraEmulator;
  const stores: TestStore[] = [];
  let sourceId: string;
  let reference: Awaited<ReturnType<typeof storeContents>>;

  beforeAll(async () => {
    emulator = await startEntraEmulator({ dataset: sampleDataset({ now: T, days: 3, signIns: 80, directoryAudits: 30 }), maxPageSize: 6 });
    sourceId = entraSourceId(emulator.tenantId);
    const cleanStore = await openTestStore('postgres');
    stores.push(cleanStore);
    await collect(cleanStore, emulator);
    reference = await storeContents(cleanStore, sourceId);
  });
  afterAll(async () => {
    await emulator?.close();
    for (const store of stores) await store.dispose();
  });

  it('aborted mid-run, then rerun, ends with the same store as a clean run', async () => {
    const store = await openTestStore('postgres');
    stores.push(store);
    const controller = new AbortController();
    let signInPages = 0;
    emulator.onRequest = ({ path }) => {
      if (path === 'auditLogs/signIns' && ++signInPages === 7) controller.abort(new Error('killed mid-run'));
    };
    await expect(collect(store, emulator, { signal: controller.signal })).rejects.toThrow('killed mid-run');
    emulator.onRequest = undefined;
    const partial = await createCollectionRepository(store.db).coverageOf(sourceId, streams.entraSignIns);
    // Some windows were finished and covered, the interrupted one was not.
    expect(partial.length).toBeLessThanOrEqual(1);
    expect(partial[0]?.to.getTime() ?? SINCE.getTime()).toBeLessThan(T.getTime());
    const requestsBefore = emulator.stats.byPath['beta/auditLogs/signIns'] ?? 0;
    await collect(store, emulator);
    // The rerun continued from the last covered window instead of starting over.
    const rerunRequests = (emulator.stats.byPath['beta/auditLogs/signIns'] ?? 0) - requestsBefore;
    expect(rerunRequests).toBeLessThan(20);
    expect(await storeContents(store, sourceId)).toEqual(reference);
  });

  it('with 10 % injected faults and the throttle on, the store is again identical', async () => {
    const store = await openTestStore('postgres');
    stores.push(store);
    emulator.resetStats();
    // Scaled-down reporting throttle: 5 requests per 300 ms (Graph: 5 per 10 s).
    emulator.setFaults({ rate: 0.1, seed: 7, throttle: { requests: 5, windowMs: 300 }, retryAfterSeconds: 0.02 });
    try {
      await collect(store, emulator, { tuning: fastTuning(emulator, { reportingLimit: { requests: 5, windowMs: 300 } }) });
    } finally {
      emulator.setFaults({});
    }
    const injected = Object.values(emulator.stats.faults).reduce((a, b) => a + (b ?? 0), 0);
    expect(injected).toBeGreaterThanOrEqual(2);
    // The pacer kept us under the throttle: no (or almost no) 429s from the limit itself.
    expect(emulator.stats.throttled).toBeLessThanOrEqual(2);
    expect(await storeContents(store, sourceId)).toEqual(reference);
  });

  it('a bad skip token redoes the window and still ends identical', async () => {
    const store = await openTestStore('postgres');
    stores.push(store);
    emulator.resetStats();
    emulator.setFaults({ rate: 0.3, seed: 5, kinds: ['bad-skip-token', 'empty-page'] });
    try {
      await collect(store, emulator);
    } finally {
      emulator.setFaults({});
    }
    expect(emulator.stats.faults['bad-skip-token'] ?? 0).toBeGreaterThan(0);
    expect(emulator.stats.faults['empty-page'] ?? 0).toBeGreaterThan(0);
    expect(await storeContents(store, sourceId)).toEqual(reference);
  });
});

describe('Entra collection failures', () => {
  let emulator: EntraEmulator;
  let store: TestStore;
  let sourceId: string;
  beforeAll(async () => {
    emulator = await startEntraEmulator({ dataset: sampleDataset({ now: T, days: 2 }) });
    sourceId = entraSourceId(emulator.tenantId);
    store = await openTestStore('postgres');
  });
  afterAll(async () => {
    await emulator?.close();
    await store?.dispose();
  });

  async function failure(run: () => Promise<unknown>) {
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isAppError(error)).toBe(true);
    return error as { code: string; message: string };
  }

  async function nothingStored() {
    for (const table of [...eventTables, ...stateTables]) expect(await count(store, table)).toBe(0);
    expect(await count(store, 'coverage_window')).toBe(0);
    expect(await count(store, 'stream_checkpoint')).toBe(0);
    expect(await createCollectionRepository(store.db).coverageOf(sourceId, streams.entraSignIns)).toEqual([]);
  }

  it('a wrong secret stops with the AADSTS line, and no secret in it', async () => {
    const error = await failure(() => collect(store, emulator, { env: { AZURE_CLIENT_SECRET: 'wrong-secret-value' } }));
    expect(error.code).toBe('UPSTREAM_AUTH');
    expect(error.message).toMatch(/AADSTS7000215: Invalid client secret provided/);
    expect(error.message).not.toMatch(/wrong-secret-value|Trace ID/);
    expect(error.message.split('\n')).toHaveLength(1);
    await nothingStored();
  });

  it('an unknown tenant stops with AADSTS90002', async () => {
    const error = await failure(() => collect(store, emulator, { env: { AZURE_TENANT_ID: 'contoso-unknown.example' } }));
    expect(error.code).toBe('UPSTREAM_AUTH');
    expect(error.message).toMatch(/AADSTS90002/);
    await nothingStored();
  });

  it('a missing permission stops with UPSTREAM_PERMISSION naming the permission', async () => {
    emulator.setFaults({ forbidden: ['auditLogs'] });
    const error = await failure(() => collect(store, emulator));
    emulator.setFaults({});
    expect(error.code).toBe('UPSTREAM_PERMISSION');
    expect(error.message).toMatch(/AuditLog\.Read\.All/);
    await nothingStored();
  });

  it('a tenant without premium licence stops with UPSTREAM_LICENCE', async () => {
    emulator.setFaults({ licence: true });
    const error = await failure(() => collect(store, emulator));
    emulator.setFaults({});
    expect(error.code).toBe('UPSTREAM_LICENCE');
    expect(error.message).toMatch(/premium license/);
    await nothingStored();
  });

  it('missing settings name the variable', async () => {
    const error = await failure(() => collect(store, emulator, { env: { ENTRA_METABASE_APP_IDS: '' } }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/ENTRA_METABASE_APP_IDS/);
  });
});

describe('Entra collection degraded tenants and bad records', () => {
  let emulator: EntraEmulator;
  let store: TestStore;
  let sourceId: string;
  beforeAll(async () => {
    emulator = await startEntraEmulator({ dataset: sampleDataset({ now: T, days: 2, signIns: 30 }) });
    sourceId = entraSourceId(emulator.tenantId);
    store = await openTestStore('postgres');
  });
  afterAll(async () => {
    await emulator?.close();
    await store?.dispose();
  });

  it('falls back to v1.0 when beta is refused, and records what is missing', async () => {
    emulator.setFaults({ betaRefused: true, hideRisk: true, refuseLeaveDates: true });
    emulator.dataset.signIns.push(
      { id: '', createdDateTime: new Date(T.getTime() - HOUR).toISOString(), appId: SAMPLE_METABASE_APP_ID, isInteractive: true },
      { id: 'impossible-date', createdDateTime: '2026-02-30T10:00:00Z', appId: SAMPLE_METABASE_APP_ID, isInteractive: true },
    );
    // The emulator serves a record with a malformed time in every window, as a broken
    // upstream would: each arrival is quarantined, the run goes on.
    const summary = await collect(store, emulator, { env: { ENTRA_LOG_RETENTION_DAYS: '2' } });
    emulator.setFaults({});
    const signIns = summary.streams.find((s) => s.stream === streams.entraSignIns)!;
    const interactive = emulator.dataset.signIns.filter(
      (s) => s['appId'] === SAMPLE_METABASE_APP_ID && s['isInteractive'] === true && s.id && s.id !== 'impossible-date',
    );
    expect(signIns.records).toBe(interactive.length);
    expect(signIns.notes.join(' ')).toMatch(/beta sign-ins refused/);
    expect(signIns.quarantined).toBeGreaterThanOrEqual(2);
    const quarantined = await sql<{
      reason: string;
    }>`select distinct reason from quarantined_record where source_id = ${sourceId} order by reason`.execute(store.db);
    expect(quarantined.rows.map((r) => r.reason)).toEqual([
      'createdDateTime is not a valid ISO-8601 instant: "2026-02-30T10:00:00Z"',
      'sign-in without an id',
    ]);
    const { rows } = await sql<{
      capability: string;
      available: boolean;
      reason: string | null;
    }>`select capability, available, reason from source_capability where source_id = ${sourceId}`.execute(store.db);
    const caps = Object.fromEntries(rows.map((r) => [r.capability, r.available]));
    expect(caps).toEqual({
      [capabilities.entraSignInsBeta]: false,
      [capabilities.entraRiskFields]: false,
      [capabilities.entraLeaveDates]: false,
    });
    const versions = await sql<{ graph_version: string }>`select distinct graph_version from entra_sign_in`.execute(store.db);
    expect(versions.rows).toEqual([{ graph_version: 'v1.0' }]);
    expect(await count(store, 'entra_user_version')).toBe(emulator.dataset.users.length + emulator.dataset.deletedUsers.length);
    // Retention: 2 days, although --since asked for 4.
    const coverage = await createCollectionRepository(store.db).coverageOf(sourceId, streams.entraSignIns);
    expect(coverage[0]!.from.getTime()).toBe(T.getTime() - 2 * 86_400_000);
    expect(signIns.notes.join(' ')).toMatch(/retention/);
  });
});
