// Import: a generated admin-center sign-in CSV (the real 55-column header) through
// `importEntraFile` into the store, beside csv-parse alone over the same file in the
// same run (the parsing floor) — rows per second and peak memory of each. Memory must
// not grow with the file: the import streams the CSV and writes in batches.
//
//   npx tsx bench/import.ts [--rows 1000000] [--batch 5000] [--keep FILE]
// Uses DATABASE_URL, else a fresh database on the local Postgres (127.0.0.1:5432).
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parse } from 'csv-parse';

import { importEntraFile, sha256OfFile } from '../src/collectors/entra/import/index.js';
import { type CollectContext, silentProgress } from '../src/collectors/types.js';
import { parseConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createCollectionRepository } from '../src/store/collection.repository.js';
import { openStore } from '../src/store/database.js';
import { createEvidenceRepository } from '../src/store/evidence.repository.js';
import { createTestDatabase } from '../test/support/database.js';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}
const total = arg('rows', 1_000_000);
const batchRows = arg('batch', 5_000);

// The admin center's header (test/fixtures/imports/README.md gives its source).
const header = ["Date (UTC)","Request ID","User agent","Correlation ID","User ID","User","Username","User type","Cross tenant access type","Incoming token type","Authentication Protocol","Unique token identifier","Original transfer method","Client credential type","Token Protection - Sign In Session","Token Protection - Sign In Session StatusCode","Application","Application ID ","Resource","Resource ID ","Resource tenant ID","Home tenant ID","Home tenant name","IP address","Location","Status","Sign-in error code","Failure reason","Client app","Device ID","Browser","Operating System","Compliant","Managed","Join Type","Multifactor authentication result","Multifactor authentication auth method","Multifactor authentication auth detail","Authentication requirement","Sign-in identifier","Session ID","IP address (seen by resource)","Through Global Secure Access","Global Secure Access IP address","Autonomous system  number","Flagged for review","Token issuer type","Incoming token type","Token issuer name","Latency","Conditional Access","Managed Identity type","Associated Resource Id","Federated Token Id","Federated Token Issuer"]; // prettier-ignore
const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;
const start = Date.parse('2026-07-01T00:00:00Z');
const tenant = '9f8e7d6c-5b4a-4321-9876-543210fedcba';
const app = '11111111-1111-1111-1111-111111111111';
const agent = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

function row(i: number): string {
  const user = i % 20_000;
  const failed = i % 50 === 0;
  const id = `7f3c${i.toString(16).padStart(8, '0')}-1b2c-4d5e-8f90-${(i * 7919).toString(16).padStart(12, '0').slice(-12)}`;
  const upn = `user${user}@contoso.example`;
  const cells = [
    new Date(start + i * 2_000).toISOString().replace('.000Z', 'Z'),
    id,
    agent,
    `c0${i.toString(16).padStart(30, '0')}`,
    `00000000-0000-4000-8000-${user.toString().padStart(12, '0')}`,
    `User ${user}`,
    upn,
    'Member',
    'None',
    'None',
    'None',
    `tok${i}`,
    'None',
    'None',
    'Unbound',
    '',
    'Metabase',
    app,
    'Metabase',
    app,
    tenant,
    tenant,
    'Contoso',
    `203.0.${(i >> 8) & 255}.${i & 255}`,
    'Amsterdam, Noord-Holland, NL',
    failed ? 'Failure' : 'Success',
    failed ? '50126' : '0',
    failed ? 'Error validating credentials due to invalid username or password.' : '',
    'Browser',
    '',
    'Chrome 126.0.0',
    'Windows10',
    'False',
    'False',
    '',
    '',
    '',
    '',
    i % 10 === 0 ? 'Single-factor authentication' : 'Multifactor authentication',
    upn,
    `sess-${user}`,
    '',
    'No',
    '',
    '64496',
    'False',
    'AzureAD',
    'None',
    '',
    '112',
    'Success',
    '',
    '',
    '',
    '',
  ];
  return cells.map(quote).join(',') + '\r\n';
}

async function generate(file: string): Promise<void> {
  const out = createWriteStream(file);
  out.write(header.map(quote).join(',') + '\r\n');
  let chunk = '';
  for (let i = 0; i < total; i++) {
    chunk += row(i);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** Runs a phase while sampling memory; returns seconds and peaks (MB). */
async function measured<T>(run: () => Promise<T>): Promise<{ seconds: number; rssMb: number; heapMb: number; value: T }> {
  global.gc?.();
  let rss = 0;
  let heap = 0;
  const sample = () => {
    const usage = process.memoryUsage();
    rss = Math.max(rss, usage.rss);
    heap = Math.max(heap, usage.heapUsed);
  };
  const timer = setInterval(sample, 50);
  const t0 = performance.now();
  try {
    const value = await run();
    sample();
    return { seconds: (performance.now() - t0) / 1000, rssMb: rss / 1048576, heapMb: heap / 1048576, value };
  } finally {
    clearInterval(timer);
  }
}

async function main() {
  const dir = mkdtempSync(path.join(tmpdir(), 'accesstrail-bench-import-'));
  const file = path.join(dir, 'InteractiveSignIns_bench.csv');
  const scratch = process.env['DATABASE_URL'] ? undefined : await createTestDatabase('accesstrail_bench');
  const store = await openStore({ databaseUrl: process.env['DATABASE_URL'] ?? scratch!.url, poolSize: 2 });
  try {
    const generated = await measured(() => generate(file));
    const bytes = statSync(file).size;
    console.log(
      `import: ${total.toLocaleString('en')} admin-center sign-in rows, ${(bytes / 1048576).toFixed(0)} MB CSV (generated in ${generated.seconds.toFixed(1)} s), ${batchRows} rows per write, engine ${store.engine}`,
    );

    // Reference: csv-parse alone (the same options as the importer), and the SHA-256 pass.
    const reference = await measured(async () => {
      let n = 0;
      for await (const _ of createReadStream(file, { highWaterMark: 1 << 20 }).pipe(
        parse({ bom: true, relax_column_count: true, skip_empty_lines: true, info: true, skip_records_with_error: true }),
      ))
        n++;
      return n - 1;
    });
    const hashing = await measured(() => sha256OfFile(file));

    const collection = createCollectionRepository(store.db);
    await collection.upsertSource({ id: 'entra:bench', kind: 'entra', displayName: 'bench' });
    const context: CollectContext = {
      store,
      evidence: createEvidenceRepository(store.db),
      collection,
      config: parseConfig({}),
      logger: createLogger({ level: 'silent' }),
      runId: await collection.startRun('import', { bench: true }),
      progress: silentProgress,
      now: () => new Date('2026-12-31T00:00:00Z'),
    };
    const imported = await measured(() => importEntraFile(context, 'entra:bench', file, { batchRows }));
    if (imported.value.records !== total) throw new Error(`imported ${imported.value.records} of ${total} rows`);

    const line = (label: string, phase: { seconds: number; rssMb: number; heapMb: number }, rows: number) =>
      console.log(
        `${label.padEnd(26)}: ${phase.seconds.toFixed(1).padStart(6)} s  ${Math.round(rows / phase.seconds)
          .toLocaleString('en')
          .padStart(9)} rows/s  peak RSS ${Math.round(phase.rssMb)} MB, heap ${Math.round(phase.heapMb)} MB`,
      );
    line('csv-parse alone', reference, reference.value);
    line('sha-256 of the file', hashing, total);
    line('importEntraFile (store)', imported, total);
    console.log(`ratio import / csv-parse : ${(reference.seconds / imported.seconds).toFixed(2)}`);
    console.log(
      `records ${imported.value.records.toLocaleString('en')}, inserted ${imported.value.inserted.toLocaleString('en')}, quarantined ${imported.value.quarantined}`,
    );
  } finally {
    await store.close();
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
