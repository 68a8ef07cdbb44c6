// Crash soak: the bigger version of test/reliability/crash-consistency.test.ts. A clean
// `accesstrail collect --source all` (Entra emulator + a Metabase v60 application
// database on the local Postgres) sets the reference digest of every evidence table;
// then, --points times, a fresh store is collected, killed with SIGKILL at a seeded
// point of its store traffic (a client→server chunk counted by a loopback proxy), and
// collected again to the end. Each rerun must leave exactly the clean digest and an
// intact hash chain. Prints the figures (points, mismatches, seconds per cycle).
//
//   npm run bench -- crash-soak [--points 100] [--seed 1] [--sign-ins 5000] [--metabase-days 20]
//
// Uses the local Postgres (TEST_DATABASE_URL's server); every database it makes is dropped.
import { parseArgs } from 'node:util';

import { verifyChain } from '../src/store/chain.js';
import { openStore } from '../src/store/database.js';
import { collectArgs, evidenceDigest, runCli, seededRandom, startUpstreams, TEST_POSTGRES } from '../test/reliability/harness.js';
import { createTestDatabase } from '../test/support/database.js';
import { startTcpProxy } from '../test/support/tcp-proxy.js';

const { values } = parseArgs({
  options: {
    points: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    'sign-ins': { type: 'string', default: '5000' },
    'metabase-days': { type: 'string', default: '20' },
  },
});
const points = Number(values.points);
const signIns = Number(values['sign-ins']);
const metabaseDays = Number(values['metabase-days']);

async function digestOf(url: string) {
  const store = await openStore({ databaseUrl: url, migrate: false, poolSize: 2 });
  try {
    return { digest: await evidenceDigest(store.db), chain: await verifyChain(store.db) };
  } finally {
    await store.close();
  }
}

const upstreams = await startUpstreams({
  entraSignIns: signIns,
  entraAudits: Math.round(signIns / 5),
  entraUsers: 200,
  metabaseUsers: 40,
  metabaseDays,
  pageSize: 200,
});
const proxy = await startTcpProxy(TEST_POSTGRES);
try {
  const cleanDb = await createTestDatabase();
  let total = 0;
  proxy.onClientChunk = () => void total++;
  const cleanStart = Date.now();
  const clean = await runCli(collectArgs(upstreams), upstreams.env(proxy.rewrite(cleanDb.url)));
  proxy.onClientChunk = undefined;
  if (clean.code !== 0) throw new Error(`the clean run failed: ${clean.stderr}`);
  const cleanSeconds = (Date.now() - cleanStart) / 1000;
  const reference = (await digestOf(cleanDb.url)).digest;
  await cleanDb.drop();
  console.log(`clean run: ${cleanSeconds.toFixed(1)} s, ${total} store chunks, rows: ${JSON.stringify(reference.counts)}`);

  const random = seededRandom(Number(values.seed));
  let mismatches = 0;
  let killed = 0;
  const started = Date.now();
  for (let i = 0; i < points; i++) {
    const point = 1 + Math.floor(random() * total);
    const deliver = random() < 0.5;
    const database = await createTestDatabase();
    let chunks = 0;
    const interrupted = await runCli(collectArgs(upstreams), upstreams.env(proxy.rewrite(database.url)), (child) => {
      proxy.onClientChunk = () => {
        if (++chunks !== point) return;
        child.kill('SIGKILL');
        return deliver ? 'forward' : 'cut';
      };
    });
    proxy.onClientChunk = undefined;
    if (interrupted.signal === 'SIGKILL') killed++;
    const rerun = await runCli(collectArgs(upstreams), upstreams.env(database.url));
    const after = await digestOf(database.url);
    const same = rerun.code === 0 && after.chain.intact && JSON.stringify(after.digest) === JSON.stringify(reference);
    if (!same) {
      mismatches++;
      console.log(
        `point ${point}${deliver ? '+' : ''}: MISMATCH (rerun exit ${rerun.code}, chain ${after.chain.intact ? 'intact' : after.chain.firstBroken?.reason}) ${rerun.stderr.trim()}`,
      );
    }
    await database.drop();
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `kill points: ${points} (${killed} killed mid-run), mismatches: ${mismatches}, ${(seconds / Math.max(points, 1)).toFixed(1)} s per kill + rerun + digest`,
  );
  process.exitCode = mismatches === 0 ? 0 : 1;
} finally {
  await proxy.close();
  await upstreams.close();
}
