// Metabase collection: rows per second from an application database (v60 schema,
// partitioned query_execution) holding N query_execution rows, and the collector's
// peak resident memory, sampled every 100 ms. Run it at two sizes to see memory stay
// flat while the table grows (reads are keyset batches, never the whole table).
//
//   npx tsx bench/metabase-collect.ts [--rows 5000000] [--compare 1000000]
// --rows accepts a comma list (e.g. --rows 1000000,5000000); --compare N adds a run at N first.
// Uses fresh databases on the local Postgres (127.0.0.1:5432, or TEST_DATABASE_URL).
import { collectMetabaseWith, DEFAULT_BATCH_ROWS } from '../src/collectors/metabase/index.js';
import { silentProgress } from '../src/collectors/types.js';
import { parseConfig } from '../src/config.js';
import { createMetabaseAppDatabase, fillQueryExecutions, generateMetabaseDataset } from '../src/emulators/metabase/index.js';
import { createLogger } from '../src/logger.js';
import { createCollectionRepository } from '../src/store/collection.repository.js';
import { openStore } from '../src/store/database.js';
import { createEvidenceRepository } from '../src/store/evidence.repository.js';
import { createTestDatabase } from '../test/support/database.js';

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : undefined;
}

const sizes = [
  ...(argument('compare') ? [Number(argument('compare'))] : []),
  ...(argument('rows') ?? '5000000').split(',').map((value) => Number(value.trim())),
].filter((n) => Number.isFinite(n) && n > 0);

interface Result {
  rows: number;
  fillSeconds: number;
  collectSeconds: number;
  rowsPerSecond: number;
  peakRssMb: number;
  baselineRssMb: number;
}

async function runOnce(rows: number): Promise<Result> {
  const app = await createTestDatabase('mb_bench_app');
  const storeDb = await createTestDatabase('mb_bench_store');
  try {
    const from = new Date('2024-06-01T00:00:00Z');
    const to = new Date('2026-02-28T00:00:00Z');
    const fillStart = performance.now();
    await createMetabaseAppDatabase({
      url: app.url,
      version: 60,
      dataset: generateMetabaseDataset({ start: from, days: 1, users: 20, queriesPerLogin: 0 }),
    });
    await fillQueryExecutions(app.url, 60, { rows, from, to, executorIds: Array.from({ length: 20 }, (_, i) => i + 1), firstId: 1_000 });
    const fillSeconds = (performance.now() - fillStart) / 1000;

    const store = await openStore({ databaseUrl: storeDb.url, poolSize: 2 });
    const collection = createCollectionRepository(store.db);
    const runId = await collection.startRun('collect', { bench: true });
    global.gc?.();
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 100);
    const started = performance.now();
    let lastPrint = 0;
    const summary = await collectMetabaseWith(
      {
        store,
        evidence: createEvidenceRepository(store.db),
        collection,
        config: parseConfig({ METABASE_DB_URL: app.url }),
        logger: createLogger({ level: 'silent' }),
        runId,
        progress: {
          ...silentProgress,
          update(stream, state) {
            const elapsed = (performance.now() - started) / 1000;
            if (stream === 'metabase-query-executions' && elapsed - lastPrint > 15) {
              lastPrint = elapsed;
              process.stderr.write(
                `  ${state.records} rows after ${elapsed.toFixed(0)} s (rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB)\n`,
              );
            }
          },
        },
        now: () => new Date(),
      },
      {},
      { batchRows: DEFAULT_BATCH_ROWS },
    );
    const collectSeconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    await store.close();
    const queries = summary.streams.find((s) => s.stream === 'metabase-query-executions')!;
    if (queries.inserted < rows) throw new Error(`expected at least ${rows} query rows, stored ${queries.inserted}`);
    return {
      rows,
      fillSeconds,
      collectSeconds,
      rowsPerSecond: Math.round(queries.records / collectSeconds),
      peakRssMb: Math.round(peakRss / 2 ** 20),
      baselineRssMb: Math.round(baselineRss / 2 ** 20),
    };
  } finally {
    await app.drop();
    await storeDb.drop();
  }
}

const results: Result[] = [];
for (const rows of sizes) {
  process.stderr.write(`query_execution rows: ${rows.toLocaleString('en')}\n`);
  const result = await runOnce(rows);
  results.push(result);
  console.log(
    `rows=${result.rows} fill=${result.fillSeconds.toFixed(1)}s collect=${result.collectSeconds.toFixed(1)}s rate=${result.rowsPerSecond} rows/s peakRss=${result.peakRssMb} MB (baseline ${result.baselineRssMb} MB)`,
  );
}
if (results.length > 1) {
  const [small, large] = [results[0]!, results[results.length - 1]!];
  console.log(
    `peak RSS ${small.peakRssMb} MB at ${small.rows} rows vs ${large.peakRssMb} MB at ${large.rows} rows (table ${(large.rows / small.rows).toFixed(1)}x larger)`,
  );
}
