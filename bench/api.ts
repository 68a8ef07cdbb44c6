// API throughput and latency (issue 13): autocannon at 50 connections against the real
// service (buildApp on a real Postgres store), for
//  - a stored report's JSON (GET /v1/reports/:id), and
//  - a page of 100 findings (GET /v1/findings?limit=100),
// each beside a reference in the same run: a bare Fastify route on the same machine
// answering a constant body of the same size (what HTTP and the loop cost by themselves).
// Aim: p99 under 10 ms. The store is the correlation benchmark's (bench/lib), at a
// tenth (100k) or a hundredth (quick, 10k) of the issue's size; one current correlation
// gives the findings and one report is created and stored.
//
//   npx tsx bench/api.ts [--size 10k] [--seconds 10] [--store URL]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import autocannon from 'autocannon';
import Fastify from 'fastify';

import { createApiKeyRepository } from '../src/api/api-keys.js';
import { buildApp } from '../src/api/app.js';
import { parseConfig } from '../src/config.js';
import { correlateFromConfig } from '../src/correlation/service.js';
import { createLogger } from '../src/logger.js';
import { createReport } from '../src/reports/service.js';
import { openStore } from '../src/store/database.js';
import { ADMIN_GROUP, APP_ID, asOf, period, scaleForSize, sharedCorrelationStore } from './lib/correlation-store.js';
import { argValue, type Benchmark, type BenchRow, type BenchSize, isMain } from './lib/harness.js';

interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  bytes: number;
  errors: number;
  non2xx: number;
  seconds: number;
}

async function load(url: string, headers: Record<string, string>, seconds: number): Promise<Load> {
  const result = await autocannon({ url, connections: 50, duration: seconds, headers, pipelining: 1 });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    bytes: result.throughput.average / Math.max(result.requests.average, 1),
    errors: result.errors,
    non2xx: result.non2xx,
    seconds,
  };
}

/** A bare Fastify route answering `body` as it is: the reference for a body of that size. */
async function bareServer(body: string) {
  const app = Fastify({ logger: false });
  app.get('/', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { url: `http://127.0.0.1:${port}/`, close: () => app.close() };
}

export interface ApiMeasurement {
  reportBytes: number;
  findingsBytes: number;
  report: Load;
  reportReference: Load;
  findings: Load;
  findingsReference: Load;
}

export async function measureApi(size: BenchSize, seconds: number, storeUrl?: string): Promise<ApiMeasurement> {
  const url = storeUrl ?? (await sharedCorrelationStore(scaleForSize(size)));
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-api-'));
  const store = await openStore({ databaseUrl: url, poolSize: 10 });
  try {
    const config = parseConfig(
      {
        DATABASE_URL: url,
        ACCESSTRAIL_DATA_DIR: dataDir,
        ENTRA_METABASE_APP_IDS: APP_ID,
        ENTRA_ADMIN_GROUP_IDS: ADMIN_GROUP,
        ACCESSTRAIL_LOG_LEVEL: 'silent',
      },
      dataDir,
    );
    const logger = createLogger({ level: 'silent' });
    await correlateFromConfig(store.db, config, { from: period.from, to: period.to, asOf, purpose: 'current' });
    const report = await createReport(
      { db: store.db, config, now: () => asOf },
      { framework: 'soc2', period, formats: ['json'], outDir: path.join(dataDir, 'out') },
    );
    const key = (await createApiKeyRepository(store.db).create({ name: 'bench', scopes: ['reports:read', 'findings:read'] })).key;
    const app = await buildApp({ store, config, logger, now: () => asOf });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const headers = { authorization: `Bearer ${key}` };
    try {
      const reportUrl = `${base}/v1/reports/${encodeURIComponent(report.reportId)}`;
      const findingsUrl = `${base}/v1/findings?limit=100`;
      const reportBody = await (await fetch(reportUrl, { headers })).text();
      const findingsResponse = await fetch(findingsUrl, { headers });
      const findingsBody = await findingsResponse.text();
      if (!findingsResponse.ok) throw new Error(`GET /v1/findings answered ${findingsResponse.status}: ${findingsBody.slice(0, 200)}`);
      const measured: Partial<ApiMeasurement> = {
        reportBytes: Buffer.byteLength(reportBody),
        findingsBytes: Buffer.byteLength(findingsBody),
      };
      measured.report = await load(reportUrl, headers, seconds);
      measured.findings = await load(findingsUrl, headers, seconds);
      for (const [name, body] of [
        ['reportReference', reportBody],
        ['findingsReference', findingsBody],
      ] as const) {
        const bare = await bareServer(body);
        try {
          measured[name] = await load(bare.url, {}, seconds);
        } finally {
          await bare.close();
        }
      }
      return measured as ApiMeasurement;
    } finally {
      await app.close();
    }
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function rowsOf(m: ApiMeasurement, size: string): BenchRow[] {
  const row = (stage: string, bytes: number, got: Load, reference: Load): BenchRow => ({
    stage,
    size: `${size}, ${(bytes / 1024).toFixed(0)} KB body, 50 connections`,
    throughput: { value: got.requestsPerSecond, unit: 'requests/s' },
    // Seconds per request at that rate, so the table's ratio compares rates.
    seconds: 1 / Math.max(got.requestsPerSecond, 1e-9),
    reference: {
      name: `bare Fastify, same body (${Math.round(reference.requestsPerSecond)} req/s, p99 ${reference.p99} ms)`,
      seconds: 1 / Math.max(reference.requestsPerSecond, 1e-9),
    },
    note: `p50 ${got.p50} ms, p99 ${got.p99} ms${got.p99 < 10 ? ' (aim < 10 ms met)' : ' (aim < 10 ms NOT met)'}${got.errors || got.non2xx ? `; ${got.errors} errors, ${got.non2xx} non-2xx` : ''}`,
  });
  return [
    row('api: stored report JSON', m.reportBytes, m.report, m.reportReference),
    row('api: page of 100 findings', m.findingsBytes, m.findings, m.findingsReference),
  ];
}

export const benchmark: Benchmark = {
  name: 'api',
  description: 'autocannon, 50 connections: a stored report JSON and a page of findings, against a bare route with the same body',
  sizes: ['quick', '10k', '100k'],
  async run({ size, storeUrl }) {
    const m = await measureApi(size, size === 'quick' ? 3 : 10, storeUrl);
    return rowsOf(m, size === '100k' ? '2,000 accounts' : '200 accounts');
  },
};

if (isMain(import.meta.url)) {
  const size = (argValue(process.argv, 'size') ?? '10k') as BenchSize;
  const m = await measureApi(size, Number(argValue(process.argv, 'seconds') ?? 10), argValue(process.argv, 'store'));
  for (const row of rowsOf(m, size))
    console.log(`${row.stage}: ${Math.round(row.throughput!.value)} req/s; ${row.note}; reference ${row.reference!.name}`);
  process.exit(0);
}
