// Faults upstream on the Entra side (issue 12): Graph 429 storms with Retry-After,
// 500/502/503/504, connection resets, truncated and cut JSON bodies, invalid skip tokens
// and empty pages, on sign-ins, directory audits and directory listings. Each faulty run
// either completes with the same store as a clean run, or stops with a clear one-line
// error and the next run completes it; "the same store" is a digest of the evidence rows'
// own hashes (test/support/entra-run.ts), and the hash chain must verify.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { type EntraEmulator, type FaultKind, type ScriptedFault, startEntraEmulator } from '../../src/emulators/entra/index.js';
import { SAMPLE_COLLECTOR_SECRET, sampleDataset } from '../../src/emulators/entra/sample.js';
import { isAppError } from '../../src/errors.js';
import { verifyChain } from '../../src/store/chain.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { entraSourceId, streams } from '../../src/store/streams.js';
import { collectFrom, type EvidenceDigest, evidenceDigest, fastTuning, storeFactory } from '../support/entra-run.js';

const T = new Date(Math.floor(Date.now() / 1000) * 1000);
const DAY = 86_400_000;
const SINCE = new Date(T.getTime() - 3 * DAY);

/** Where a fault lands: the path prefix of the Graph requests it hits. */
const targets = {
  'sign-ins': 'auditLogs/signIns',
  audits: 'auditLogs/directoryAudits',
  users: 'users',
  'groups and members': 'groups',
} as const;

interface FaultCase {
  name: string;
  /** The fault lands on each of these targets (its own count on each). */
  targets: (keyof typeof targets)[];
  step: Omit<ScriptedFault, 'path'>;
}

// Short bursts: every one must be absorbed within the run (retries, window redo, listing
// restart), so the first run already equals the clean one.
const bursts: { kind: FaultKind; continuation?: boolean; times: number }[] = [
  { kind: '429', times: 3 },
  { kind: '500', times: 3 },
  { kind: '502', times: 3 },
  { kind: '503', times: 3 },
  { kind: '504', times: 3 },
  { kind: 'reset', times: 3 },
  { kind: 'truncated-body', times: 2 },
  { kind: 'cut-body', times: 2 },
  { kind: 'bad-skip-token', continuation: true, times: 2 },
  { kind: 'empty-page', continuation: true, times: 3 },
];
// One run per kind, the fault landing on sign-ins, audits, users and groups/members alike.
const allTargets = Object.keys(targets) as (keyof typeof targets)[];
const burstCases: FaultCase[] = bursts.map(({ kind, continuation, times }) => ({
  name: `${kind} x${times} on each of ${allTargets.join(', ')}`,
  targets: allTargets,
  // Mid-listing, not only on a first page: from the second matching request on, or from
  // the first nextLink page for the faults that only exist there.
  step: { kind, times, after: continuation ? 0 : 1, ...(continuation !== undefined ? { continuation } : {}) },
}));

// Generous hooks and tests: the machine is shared and a run here is a whole collection.
describe('Entra faults upstream: the store ends as a clean run left it', { timeout: 180_000 }, () => {
  let emulator: EntraEmulator;
  let sourceId: string;
  let clean: EvidenceDigest;
  let factory: Awaited<ReturnType<typeof storeFactory>>;
  const stores: { dispose(): Promise<void> }[] = [];
  const outcomes: string[] = [];
  const disposeStores = async () => {
    for (const store of stores.splice(0)) await store.dispose();
  };
  const openTestStore = async () => {
    const store = await factory.fresh();
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    factory = await storeFactory();
    // Pages of 4: every listing (users, members, each log window) has several.
    emulator = await startEntraEmulator({
      dataset: sampleDataset({ now: T, days: 3, users: 20, signIns: 60, directoryAudits: 24 }),
      maxPageSize: 4,
      faults: { retryAfterSeconds: 0.01 },
    });
    sourceId = entraSourceId(emulator.tenantId);
    const store = await openTestStore();
    await collectFrom(store, emulator, { now: T, since: SINCE });
    clean = await evidenceDigest(store, sourceId);
    expect(clean.tables['entra_sign_in']!.rows).toBe(60);
    expect(clean.tables['entra_user_version']!.rows).toBeGreaterThanOrEqual(20);
    expect(clean.tables['entra_group_member_version']!.rows).toBeGreaterThan(0);
    await disposeStores();
  }, 300_000);
  // Each test's stores go as soon as it ends: the Postgres server is shared.
  afterEach(() => disposeStores(), 120_000);
  afterAll(async () => {
    await emulator?.close();
    await disposeStores();
    await factory?.dispose();
    if (outcomes.length) console.log(`Entra fault runs:\n  ${outcomes.join('\n  ')}`);
  }, 300_000);

  /** One faulty run, then (if it stopped) one clean rerun; returns how it went. */
  async function faultyRun(
    faultCase: FaultCase,
    tuning = fastTuning(emulator),
  ): Promise<{ firstRun: 'completed' | 'stopped'; error?: Error; injected: number }> {
    const store = await openTestStore();
    emulator.resetStats();
    emulator.setFaults({
      retryAfterSeconds: 0.01,
      script: faultCase.targets.map((target) => ({ ...faultCase.step, path: targets[target] })),
    });
    let error: Error | undefined;
    try {
      await collectFrom(store, emulator, { now: T, since: SINCE, tuning });
    } catch (caught) {
      error = caught as Error;
    } finally {
      emulator.setFaults({ retryAfterSeconds: 0.01 });
    }
    const injected = Object.values(emulator.stats.faults).reduce((a, b) => a + (b ?? 0), 0);
    if (error) {
      // A clear stop: our error vocabulary, one line, naming what is incomplete, no secret.
      expect(isAppError(error), String(error.stack)).toBe(true);
      expect(error.message.split('\n')).toHaveLength(1);
      expect(error.message).not.toContain(SAMPLE_COLLECTOR_SECRET);
      await collectFrom(store, emulator, { now: T, since: SINCE });
    }
    expect(await evidenceDigest(store, sourceId)).toEqual(clean);
    expect((await verifyChain(store.db)).intact).toBe(true);
    outcomes.push(
      `${faultCase.name}: ${injected} injected, ${error ? `stopped (${(error as { code?: string }).code}: ${error.message}), rerun completed` : 'completed'}`,
    );
    return { firstRun: error ? 'stopped' : 'completed', ...(error ? { error } : {}), injected };
  }

  for (const faultCase of burstCases) {
    it(`${faultCase.name}: the run completes with the clean store`, async () => {
      const outcome = await faultyRun(faultCase);
      expect(outcome.injected).toBe(faultCase.step.times! * faultCase.targets.length);
      expect(outcome.error?.message).toBeUndefined();
    });
  }

  it('a 429 storm longer than the retry budget of a request: log windows are redone, the run still completes', async () => {
    // 8 attempts per request in this tuning: 30 throttled answers in a row exhaust several
    // requests; the window is redone (up to 6 attempts) until the storm has passed.
    const outcome = await faultyRun({
      name: '429 storm x30 on sign-ins',
      targets: ['sign-ins'],
      step: { kind: '429', times: 30, after: 2 },
    });
    expect(outcome.injected).toBe(30);
    expect(outcome.firstRun).toBe('completed');
  });

  it('a 429 storm longer than the retry budget of a request on a directory listing: the page is asked again, the run completes', async () => {
    const outcome = await faultyRun({ name: '429 storm x20 on users', targets: ['users'], step: { kind: '429', times: 20, after: 2 } });
    expect(outcome.injected).toBe(20);
    expect(outcome.firstRun).toBe('completed');
  });

  it('Graph down for good on sign-ins: stops with UPSTREAM_UNAVAILABLE, covers what it read, and the rerun resumes', async () => {
    const store = await openTestStore();
    // Sign-in pages after the 6th fail with 503 until the run gives up.
    emulator.setFaults({ retryAfterSeconds: 0.01, script: [{ kind: '503', path: 'auditLogs/signIns', after: 6, times: 100_000 }] });
    let error: unknown;
    try {
      await collectFrom(store, emulator, {
        now: T,
        since: SINCE,
        tuning: fastTuning(emulator, { retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 } }),
      });
    } catch (caught) {
      error = caught;
    } finally {
      emulator.setFaults({ retryAfterSeconds: 0.01 });
    }
    expect(isAppError(error) && error.code).toBe('UPSTREAM_UNAVAILABLE');
    outcomes.push(`503 for good on sign-ins: stopped (${(error as Error).message}), rerun completed`);
    expect((error as Error).message).toMatch(
      /^Entra collection incomplete \(Graph kept failing\): entra-sign-ins: Graph kept failing GET \/beta\/auditLogs\/signIns/,
    );
    const collection = createCollectionRepository(store.db);
    const covered = await collection.coverageOf(sourceId, streams.entraSignIns);
    // Some windows were covered before Graph went down; not the whole range.
    expect(covered).toHaveLength(1);
    expect(covered[0]!.from).toEqual(SINCE);
    expect(covered[0]!.to.getTime()).toBeLessThan(T.getTime());
    // Audits and directory state did not wait for the sign-ins.
    const partial = await evidenceDigest(store, sourceId);
    expect(partial.tables['entra_directory_audit']).toEqual(clean.tables['entra_directory_audit']);
    expect(partial.tables['entra_user_version']).toEqual(clean.tables['entra_user_version']);
    const requestsBefore = emulator.stats.byPath['beta/auditLogs/signIns'] ?? 0;
    await collectFrom(store, emulator, { now: T, since: SINCE });
    // Resumed from the checkpoint rather than from the start: fewer than the 15 pages of a full read.
    expect((emulator.stats.byPath['beta/auditLogs/signIns'] ?? 0) - requestsBefore).toBeLessThan(15);
    expect(await evidenceDigest(store, sourceId)).toEqual(clean);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('a directory listing failing for good leaves its snapshot incomplete (nothing marked removed) and the rerun completes it', async () => {
    const store = await openTestStore();
    emulator.setFaults({ retryAfterSeconds: 0.01, script: [{ kind: '502', path: 'users', continuation: true, after: 1, times: 100_000 }] });
    let error: unknown;
    try {
      await collectFrom(store, emulator, {
        now: T,
        since: SINCE,
        tuning: fastTuning(emulator, { retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 } }),
      });
    } catch (caught) {
      error = caught;
    } finally {
      emulator.setFaults({ retryAfterSeconds: 0.01 });
    }
    expect(isAppError(error) && error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect((error as Error).message).toContain('entra_user_version: Graph kept failing GET /v1.0/users');
    outcomes.push(`502 for good on users: stopped (${(error as Error).message}), rerun completed`);
    const snapshots = await store.db.selectFrom('snapshot').select(['stream', 'complete']).execute();
    expect(snapshots.find((s) => s.stream === 'entra_user_version')?.complete).toBe(false);
    const { rows } = await store.db
      .selectFrom('entra_user_version')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('present', '=', false)
      .execute()
      .then((r) => ({ rows: r }));
    expect(Number(rows[0]!.n)).toBe(0);
    await collectFrom(store, emulator, { now: T, since: SINCE });
    expect(await evidenceDigest(store, sourceId)).toEqual(clean);
  });

  it('honours Retry-After: after each throttled answer the next request waits at least that long', async () => {
    const store = await openTestStore();
    const arrivals: { at: number; path: string }[] = [];
    emulator.onRequest = ({ path }) => arrivals.push({ at: Date.now(), path });
    emulator.setFaults({ retryAfterSeconds: 0.25, script: [{ kind: '429', path: 'auditLogs/signIns', after: 1, times: 4 }] });
    try {
      await collectFrom(store, emulator, { now: T, since: SINCE });
    } finally {
      emulator.onRequest = undefined;
      emulator.setFaults({ retryAfterSeconds: 0.01 });
    }
    const signIns = arrivals.filter((a) => a.path === 'auditLogs/signIns');
    // Requests 2..5 were throttled; each following request came at least 250 ms later
    // (a lower bound: a busy machine only makes the gap longer).
    for (let i = 1; i <= 4; i++) expect(signIns[i + 1]!.at - signIns[i]!.at).toBeGreaterThanOrEqual(240);
    expect(await evidenceDigest(store, sourceId)).toEqual(clean);
  });
});
