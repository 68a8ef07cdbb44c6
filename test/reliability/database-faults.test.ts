// Faults below the collector, through a loopback proxy the test controls (the shared
// Postgres is never stopped): the Metabase application database dropping the connection
// mid-batch, and the store's Postgres connection cut mid-run (with reconnects refused
// for a moment, as during a server restart). Each run must either complete with the same
// store as a clean run, or stop with exit 1 and one clear line naming what failed; the
// next run must then end with the same store as a clean run, chain intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { verifyChain } from '../../src/store/chain.js';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import {
  collectArgs,
  type Digest,
  evidenceDigest,
  type Outcome,
  runCli,
  seededRandom,
  startUpstreams,
  TEST_POSTGRES,
  type Upstreams,
} from './harness.js';

const CUTS = Number(process.env['RELIABILITY_FAULT_CUTS'] ?? 3);

async function digestOf(url: string) {
  const store = await openStore({ databaseUrl: url, migrate: false, poolSize: 2 });
  try {
    return { digest: await evidenceDigest(store.db), chain: await verifyChain(store.db) };
  } finally {
    await store.close();
  }
}

/** Exit 0, or exit 1 with exactly one line on stderr that says what failed, and no stack trace. */
function expectCleanOutcome(outcome: Outcome, what: RegExp, label: string): 'completed' | 'stopped' {
  expect(outcome.signal, label).toBeNull();
  if (outcome.code === 0) return 'completed';
  expect(outcome.code, `${label}: ${outcome.stderr}`).toBe(1);
  const lines = outcome.stderr.trim().split('\n');
  expect(lines, `${label}: ${outcome.stderr}`).toHaveLength(1);
  expect(lines[0], label).toMatch(/^accesstrail: /);
  expect(lines[0], label).toMatch(what);
  expect(outcome.stderr, label).not.toMatch(/\n\s+at |node:internal/);
  return 'stopped';
}

describe.runIf(await postgresAvailable())('database faults during collect', () => {
  let upstreams: Upstreams;
  let proxy: TcpProxy;
  let clean: Digest;
  const databases: TestDatabase[] = [];
  const tally = { metabase: { completed: 0, stopped: 0 }, store: { completed: 0, stopped: 0 } };

  async function freshDatabase(): Promise<TestDatabase> {
    const database = await createTestDatabase();
    databases.push(database);
    return database;
  }

  async function expectLikeClean(url: string, label: string, expected: Digest = clean): Promise<void> {
    const after = await digestOf(url);
    expect(after.chain, label).toMatchObject({ intact: true });
    expect(after.digest.counts, label).toEqual(expected.counts);
    expect(after.digest.tables, label).toEqual(expected.tables);
  }

  beforeAll(async () => {
    upstreams = await startUpstreams({
      entraSignIns: 200,
      entraAudits: 40,
      entraUsers: 20,
      metabaseUsers: 10,
      metabaseDays: 5,
      pageSize: 50,
    });
    proxy = await startTcpProxy(TEST_POSTGRES);
    const database = await freshDatabase();
    const outcome = await runCli(collectArgs(upstreams), upstreams.env(database.url));
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    clean = (await digestOf(database.url)).digest;
  }, 240_000);

  afterAll(async () => {
    console.info(`database faults: ${JSON.stringify(tally)}`);
    await proxy?.close();
    await upstreams?.close();
    for (const database of databases) await database.drop().catch(() => undefined);
  });

  it(`the Metabase application database drops the connection mid-batch (${CUTS} seeded points): a clear stop, then a rerun ends like a clean run`, async () => {
    // Count the chunks a clean Metabase read sends, to cut within them.
    let total = 0;
    proxy.onClientChunk = () => void total++;
    const probe = await freshDatabase();
    const probeRun = await runCli(
      collectArgs(upstreams),
      upstreams.env(probe.url, { METABASE_DB_URL: proxy.rewrite(upstreams.metabaseDbUrl) }),
    );
    proxy.onClientChunk = undefined;
    expect(probeRun.code).toBe(0);
    expect(total).toBeGreaterThan(5);
    // The Metabase source id names the database's host and port, here the proxy's: the
    // runs below compare with this run, which read through the same proxy uncut.
    const cleanThroughProxy = (await digestOf(probe.url)).digest;
    expect(cleanThroughProxy.counts).toEqual(clean.counts);

    const random = seededRandom(31);
    for (let i = 0; i < CUTS; i++) {
      const point = 2 + Math.floor(random() * (total - 2));
      const database = await freshDatabase();
      let chunks = 0;
      proxy.onClientChunk = () => (++chunks === point ? 'cut' : 'forward');
      const cut = await runCli(
        collectArgs(upstreams),
        upstreams.env(database.url, { METABASE_DB_URL: proxy.rewrite(upstreams.metabaseDbUrl) }),
      );
      proxy.onClientChunk = undefined;
      const label = `Metabase cut at chunk ${point} of ${total}`;
      tally.metabase[expectCleanOutcome(cut, /Metabase application database at .*METABASE_DB_URL/, label)]++;
      expect(cut.stderr, label).not.toContain(upstreams.metabaseDbUrl);
      const rerun = await runCli(
        collectArgs(upstreams),
        upstreams.env(database.url, { METABASE_DB_URL: proxy.rewrite(upstreams.metabaseDbUrl) }),
      );
      expect(rerun.stderr, label).toBe('');
      expect(rerun.code, label).toBe(0);
      await expectLikeClean(database.url, label, cleanThroughProxy);
    }
  }, 600_000);

  it(`the store's Postgres connection is cut mid-run, reconnects refused for a moment (${CUTS} seeded points): a clear stop, then a rerun ends like a clean run`, async () => {
    let total = 0;
    proxy.onClientChunk = () => void total++;
    const probe = await freshDatabase();
    expect((await runCli(collectArgs(upstreams), upstreams.env(proxy.rewrite(probe.url)))).code).toBe(0);
    proxy.onClientChunk = undefined;

    const random = seededRandom(47);
    for (let i = 0; i < CUTS; i++) {
      const point = 20 + Math.floor(random() * (total - 20));
      const database = await freshDatabase();
      let chunks = 0;
      proxy.onClientChunk = () => {
        if (++chunks !== point) return 'forward';
        // A restart: every connection cut, new ones refused for a second.
        proxy.refuse(true);
        setTimeout(() => proxy.refuse(false), 1000);
        return 'cut';
      };
      const cut = await runCli(collectArgs(upstreams), upstreams.env(proxy.rewrite(database.url)));
      proxy.onClientChunk = undefined;
      proxy.refuse(false);
      const label = `store cut at chunk ${point} of ${total}`;
      tally.store[expectCleanOutcome(cut, /lost the connection to the store at .*\(DATABASE_URL\).*run the command again/, label)]++;
      const rerun = await runCli(collectArgs(upstreams), upstreams.env(database.url));
      expect(rerun.stderr, label).toBe('');
      expect(rerun.code, label).toBe(0);
      await expectLikeClean(database.url, label);
    }
  }, 600_000);
});
