// Adaptive windows of the Entra log streams, against the HTTPS emulator and Postgres:
// sparse logs widen the windows, dense ones narrow them, Graph timeouts narrow them, and
// coverage stays exact: a window is covered only when every one of its pages arrived.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import { sampleDataset } from '../../src/emulators/entra/sample.js';
import { isAppError } from '../../src/errors.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { entraSourceId, streams } from '../../src/store/streams.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { collectFrom, coverageRows, evidenceDigest, fastTuning } from '../support/entra-run.js';

const T = new Date(Math.floor(Date.now() / 1000) * 1000);
const DAY = 86_400_000;
const signInPath = 'beta/auditLogs/signIns';
/** Widest window the scan limit below lets through: 61 of the 110 records a day of the
 *  fault tests' log (evenly spread, so a window of that width holds at most 60). */
const widestAnswered = Math.ceil((61 / 110) * DAY);

describe('Entra log windows adapt to density', () => {
  const stores: TestStore[] = [];
  const emulators: EntraEmulator[] = [];
  afterAll(async () => {
    for (const emulator of emulators) await emulator.close();
    for (const store of stores) await store.dispose();
  });

  it('a sparse log widens the windows and costs about one request per full page', async () => {
    // 300 sign-ins over 60 days, pages of 10: the minimum is 30 requests, one-day windows take 60.
    const emulator = await startEntraEmulator({
      dataset: sampleDataset({ now: T, days: 60, signIns: 300, directoryAudits: 40, otherAppSignIns: 0 }),
      maxPageSize: 10,
    });
    emulators.push(emulator);
    const store = await openTestStore('postgres');
    stores.push(store);
    const since = new Date(T.getTime() - 60 * DAY);
    const summary = await collectFrom(store, emulator, { now: T, since, env: { ENTRA_LOG_RETENTION_DAYS: '60' } });
    const sourceId = entraSourceId(emulator.tenantId);
    expect(summary.streams.find((s) => s.stream === streams.entraSignIns)).toMatchObject({ records: 300, inserted: 300 });
    const requests = emulator.stats.byPath[signInPath] ?? 0;
    expect(requests).toBeGreaterThanOrEqual(30);
    expect(requests).toBeLessThanOrEqual(Math.ceil(1.5 * 30));
    const rows = await coverageRows(store, sourceId, streams.entraSignIns);
    // The first window is the default day; the next ones are wider.
    expect(rows[0]!.widthMs).toBe(DAY);
    expect(rows.length).toBeGreaterThan(1);
    for (const row of rows.slice(1, -1)) expect(row.widthMs).toBeGreaterThan(DAY);
    expect(rows.reduce((n, r) => n + r.records, 0)).toBe(300);
    const collection = createCollectionRepository(store.db);
    expect(await collection.coverageOf(sourceId, streams.entraSignIns)).toEqual([{ from: since, to: T }]);
    // The width the density suggested is kept for the next run.
    const checkpoint = await collection.getCheckpoint<{ windowMs: number; coveredTo: string }>(sourceId, streams.entraSignIns);
    expect(checkpoint!.coveredTo).toBe(T.toISOString());
    expect(checkpoint!.windowMs).toBeGreaterThan(DAY);
  });

  it('a dense log narrows the windows to about the target of full pages each', async () => {
    // 1,500 sign-ins over 2 days, pages of 10: a day holds 75 pages, the target is 10.
    const emulator = await startEntraEmulator({
      dataset: sampleDataset({ now: T, days: 2, signIns: 1500, directoryAudits: 10, otherAppSignIns: 0 }),
      maxPageSize: 10,
    });
    emulators.push(emulator);
    const store = await openTestStore('postgres');
    stores.push(store);
    const since = new Date(T.getTime() - 2 * DAY);
    await collectFrom(store, emulator, { now: T, since });
    const sourceId = entraSourceId(emulator.tenantId);
    const rows = await coverageRows(store, sourceId, streams.entraSignIns);
    expect(rows[0]).toMatchObject({ widthMs: DAY, records: 750 });
    const later = rows.slice(1);
    expect(later.length).toBeGreaterThanOrEqual(5);
    for (const row of later) {
      expect(row.widthMs).toBeLessThan(DAY / 4);
      expect(row.records).toBeLessThanOrEqual(200);
    }
    expect(rows.reduce((n, r) => n + r.records, 0)).toBe(1500);
    const requests = emulator.stats.byPath[signInPath] ?? 0;
    expect(requests).toBeLessThanOrEqual(Math.ceil(1.5 * 150));
    expect(await createCollectionRepository(store.db).coverageOf(sourceId, streams.entraSignIns)).toEqual([{ from: since, to: T }]);
  });
});

describe('Entra log windows under faults: coverage stays exact', () => {
  let emulator: EntraEmulator;
  let sourceId: string;
  let reference: Awaited<ReturnType<typeof evidenceDigest>>;
  const stores: TestStore[] = [];
  const since = new Date(T.getTime() - 4 * DAY);

  beforeAll(async () => {
    // 400 Metabase sign-ins and 40 of another app over 4 days, pages of 10.
    emulator = await startEntraEmulator({
      dataset: sampleDataset({ now: T, days: 4, signIns: 400, directoryAudits: 30, otherAppSignIns: 40 }),
      maxPageSize: 10,
    });
    sourceId = entraSourceId(emulator.tenantId);
    const clean = await openTestStore('postgres');
    stores.push(clean);
    await collectFrom(clean, emulator, { now: T, since });
    reference = await evidenceDigest(clean, sourceId);
    expect(reference.tables['entra_sign_in']!.rows).toBe(400);
  });
  afterAll(async () => {
    await emulator?.close();
    for (const store of stores) await store.dispose();
  });

  it('a window that fails mid-way stays uncovered; the rerun completes it with nothing duplicated', async () => {
    const store = await openTestStore('postgres');
    stores.push(store);
    // The first window (a day, 10 pages) goes through; from the 12th nextLink page on, the
    // sign-in pages fail with 500 for good: the second window breaks after two pages.
    emulator.setFaults({ script: [{ kind: '500', path: 'auditLogs/signIns', continuation: true, after: 10, times: 10_000 }] });
    let failure: unknown;
    try {
      await collectFrom(store, emulator, {
        now: T,
        since,
        tuning: fastTuning(emulator, { retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 2 }, windows: { maxWindowAttempts: 2 } }),
      });
    } catch (error) {
      failure = error;
    } finally {
      emulator.setFaults({});
    }
    expect(isAppError(failure) && failure.code).toBe('UPSTREAM_UNAVAILABLE');
    expect((failure as Error).message).toContain('entra-sign-ins');
    const collection = createCollectionRepository(store.db);
    // Covered: exactly the first window; the checkpoint did not move past it.
    expect(await collection.coverageOf(sourceId, streams.entraSignIns)).toEqual([{ from: since, to: new Date(since.getTime() + DAY) }]);
    expect((await collection.getCheckpoint<{ coveredTo: string }>(sourceId, streams.entraSignIns))!.coveredTo).toBe(
      new Date(since.getTime() + DAY).toISOString(),
    );
    // Pages of the broken window were stored, but that does not make it covered.
    const partial = await evidenceDigest(store, sourceId);
    expect(partial.tables['entra_sign_in']!.rows).toBeGreaterThan(100);
    // The audits and the directory did not wait for the sign-ins.
    expect(partial.coverage[streams.entraDirectoryAudits]).toEqual(reference.coverage[streams.entraDirectoryAudits]);

    await collectFrom(store, emulator, { now: T, since });
    expect(await evidenceDigest(store, sourceId)).toEqual(reference);
  });

  it('Graph timing out (504) on wide filters narrows the windows until it answers', async () => {
    const store = await openTestStore('postgres');
    stores.push(store);
    emulator.resetStats();
    // A query spanning more than 60 records of the whole log (both apps) times out: a day
    // holds 110, so windows must come down to a quarter of a day or less.
    emulator.setFaults({ scanLimit: { records: 60 } });
    try {
      await collectFrom(store, emulator, { now: T, since });
    } finally {
      emulator.setFaults({});
    }
    expect(emulator.stats.faults['504'] ?? 0).toBeGreaterThanOrEqual(2);
    expect(await evidenceDigest(store, sourceId)).toEqual(reference);
    // Every covered window is one Graph answered: at most 60 of the 110 records a day.
    const rows = await coverageRows(store, sourceId, streams.entraSignIns);
    expect(rows[0]!.widthMs).toBeLessThan(DAY);
    for (const row of rows) expect(row.widthMs).toBeLessThanOrEqual(widestAnswered);
    const checkpoint = await createCollectionRepository(store.db).getCheckpoint<{ timeoutCeilingMs?: number; windowMs: number }>(
      sourceId,
      streams.entraSignIns,
    );
    expect(checkpoint!.timeoutCeilingMs).toBeLessThan(DAY);
    expect(checkpoint!.windowMs).toBeLessThanOrEqual(checkpoint!.timeoutCeilingMs!);
  });

  it('no answer within the request timeout narrows the windows the same way', async () => {
    const store = await openTestStore('postgres');
    stores.push(store);
    emulator.resetStats();
    emulator.setFaults({ scanLimit: { records: 60, reply: 'hang' }, hangMs: 4_000 });
    try {
      await collectFrom(store, emulator, { now: T, since, tuning: fastTuning(emulator, { requestTimeoutMs: 1_500 }) });
    } finally {
      emulator.setFaults({});
    }
    expect(emulator.stats.faults['hang'] ?? 0).toBeGreaterThanOrEqual(2);
    expect(await evidenceDigest(store, sourceId)).toEqual(reference);
    for (const row of await coverageRows(store, sourceId, streams.entraSignIns)) expect(row.widthMs).toBeLessThanOrEqual(widestAnswered);
  });
});
