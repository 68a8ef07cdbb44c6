// Two collectors on the same sources and store at once (two `accesstrail collect`
// processes started together). Whatever the product does about it — both run, one
// waits, or one refuses — the observable contract is: each process ends with exit 0 or
// with one clear line (never a crash, never a hang), and the store ends exactly as one
// clean run leaves it (nothing duplicated, chain intact). Written against that contract
// only, so it holds with or without a per-source lock.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { verifyChain } from '../../src/store/chain.js';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';
import { collectArgs, type Digest, evidenceDigest, type Outcome, runCli, startUpstreams, type Upstreams } from './harness.js';

const ROUNDS = Number(process.env['RELIABILITY_CONCURRENCY_ROUNDS'] ?? 2);

async function digestOf(url: string) {
  const store = await openStore({ databaseUrl: url, migrate: false, poolSize: 2 });
  try {
    return { digest: await evidenceDigest(store.db), chain: await verifyChain(store.db) };
  } finally {
    await store.close();
  }
}

function expectFinishedOrRefusedClearly(outcome: Outcome, label: string): 'finished' | 'refused' {
  expect(outcome.signal, label).toBeNull();
  if (outcome.code === 0) return 'finished';
  const lines = outcome.stderr.trim().split('\n');
  expect(lines, `${label}: ${outcome.stderr}`).toHaveLength(1);
  expect(lines[0], label).toMatch(/^accesstrail: /);
  expect(lines[0], label).not.toMatch(/unexpected failure/);
  return 'refused';
}

describe.runIf(await postgresAvailable())('two collectors at once on one store', () => {
  let upstreams: Upstreams;
  let clean: Digest;
  const databases: TestDatabase[] = [];
  const tally = { finished: 0, refused: 0 };

  beforeAll(async () => {
    upstreams = await startUpstreams({
      entraSignIns: 200,
      entraAudits: 40,
      entraUsers: 20,
      metabaseUsers: 8,
      metabaseDays: 4,
      pageSize: 40,
    });
    const database = await createTestDatabase();
    databases.push(database);
    const outcome = await runCli(collectArgs(upstreams), upstreams.env(database.url));
    expect(outcome.code, outcome.stderr).toBe(0);
    clean = (await digestOf(database.url)).digest;
  }, 240_000);

  afterAll(async () => {
    console.info(`concurrency: ${ROUNDS} rounds of two collectors: ${JSON.stringify(tally)}`);
    await upstreams?.close();
    for (const database of databases) await database.drop().catch(() => undefined);
  });

  it(`two \`collect --source all\` processes started together (${ROUNDS} rounds): both finish or one refuses clearly, and the store equals one clean run`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const database = await createTestDatabase();
      databases.push(database);
      // The store is migrated first in round 0 only: the other round also races the migration.
      if (round === 0) await (await openStore({ databaseUrl: database.url, poolSize: 1 })).close();
      const env = upstreams.env(database.url);
      const [a, b] = await Promise.all([runCli(collectArgs(upstreams), env), runCli(collectArgs(upstreams), env)]);
      const outcomes = [
        expectFinishedOrRefusedClearly(a!, `round ${round}, first`),
        expectFinishedOrRefusedClearly(b!, `round ${round}, second`),
      ];
      for (const o of outcomes) tally[o]++;
      expect(outcomes, 'at least one collector finished').toContain('finished');
      const after = await digestOf(database.url);
      expect(after.chain, `round ${round}`).toMatchObject({ intact: true });
      expect(after.digest.counts, `round ${round}`).toEqual(clean.counts);
      expect(after.digest.tables, `round ${round}`).toEqual(clean.tables);
    }
  }, 600_000);
});
