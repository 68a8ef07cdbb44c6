// API throughput and latency (issue 13): autocannon at 50 connections against the web
// service `accesstrail serve` builds (API and console, on a real Postgres store, logging
// JSON at info to a file as `serve` logs to stderr), for
//  - a stored report's JSON (GET /v1/reports/:id),
//  - the pages of findings, 100 a page (GET /v1/findings?limit=100, then each nextCursor;
//    every connection walks them in turn), and
//  - both again as an HTTP client asks by default (Accept-Encoding: gzip), and
//  - both again as a client that has them revalidates (If-None-Match → 304),
// each beside a reference in the same run: a bare Fastify route answering the same bytes
// (what HTTP, the event loop and the bytes cost by themselves). Aim: p99 under 10 ms.
//
// The server runs in a process of its own (bench/lib/api-server.ts), so the load
// generator does not share its event loop; the service and the bare route are loaded in
// turn, round after round, and the table keeps each one's median round (the machine is
// shared: a round measured while something else ran would otherwise decide the figure).
// A first read of a findings page (nothing cached) is timed sequentially on its own.
//
// The store is the correlation benchmark's generated one (bench/lib/correlation-store.ts)
// at a hundredth (quick, 10k) or a tenth (100k) of the issue's size, in a database of
// this benchmark's own (it writes a correlation run, a report and an API key), dropped
// at the end unless --store names one to use.
//
//   npx tsx bench/api.ts [--size quick|10k|100k] [--seconds 5] [--rounds 3] [--store URL]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

import autocannon, { type Request } from 'autocannon';

import { createApiKeyRepository } from '../src/api/api-keys.js';
import { parseConfig } from '../src/config.js';
import { correlateFromConfig } from '../src/correlation/service.js';
import { createReport } from '../src/reports/service.js';
import { openStore } from '../src/store/database.js';
import { ADMIN_GROUP, APP_ID, asOf, createCorrelationStore, period, scaleForSize } from './lib/correlation-store.js';
import { argValue, type Benchmark, type BenchRow, type BenchSize, isMain } from './lib/harness.js';

const CONNECTIONS = 50;
const here = path.dirname(fileURLToPath(import.meta.url));

interface Load {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  /** Answers other than the expected status class (2xx, or 3xx when revalidating). */
  unexpected: number;
}

async function load(base: string, requests: Request[], seconds: number, expect: '2xx' | '3xx'): Promise<Load> {
  const result = await autocannon({ url: base, connections: CONNECTIONS, duration: seconds, pipelining: 1, requests });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    unexpected: expect === '2xx' ? result.non2xx : result['2xx'] + result.non2xx - result['3xx'],
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The round whose rate is the median one (its p50 and p99 go with it). */
function medianRound(rounds: Load[]): Load {
  const rate = median(rounds.map((round) => round.requestsPerSecond));
  return rounds.reduce((best, round) =>
    Math.abs(round.requestsPerSecond - rate) < Math.abs(best.requestsPerSecond - rate) ? round : best,
  );
}

interface Server {
  base: string;
  /** SIGTERM; resolves with the server's peak RSS (MB). */
  stop(): Promise<number>;
}

async function startServer(args: string[], env: Record<string, string>, logFile: string): Promise<Server> {
  const log = openSync(logFile, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'lib', 'api-server.ts'), ...args], {
    env: { PATH: process.env['PATH'] ?? '', ...env },
    stdio: ['ignore', 'pipe', log],
  });
  closeSync(log);
  const lines = createInterface({ input: child.stdout! });
  let peak = 0;
  const exited = new Promise<number>((resolve) => child.once('exit', () => resolve(peak)));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server (${args[0]}) exited with ${code} before listening; see ${logFile}`)));
    lines.on('line', (line) => {
      const listening = /^LISTENING (\d+)$/.exec(line);
      if (listening) resolve(Number(listening[1]));
      const rss = /^PEAK-RSS (\d+)$/.exec(line);
      if (rss) peak = Number(rss[1]);
    });
  });
  return {
    base: `http://127.0.0.1:${port}`,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

async function get(url: string, headers: Record<string, string>): Promise<{ body: string; etag: string | null }> {
  const response = await fetch(url, { headers });
  const body = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${body.slice(0, 200)}`);
  return { body, etag: response.headers.get('etag') };
}

interface Target {
  stage: string;
  bytes: number;
  /** What the row's size says besides the body. */
  what: string;
  expect: '2xx' | '3xx';
  app: Request[];
  bare: Request[];
}

export interface ApiMeasurement {
  rows: { target: Target; app: Load; bare: Load }[];
  /** A findings page read with nothing cached, one request at a time (ms). */
  firstRead: { p50: number; p99: number; count: number };
  findings: number;
  pages: number;
  peakRssMb: number;
  logBytesPerRequest: number;
  loadAverage: string;
}

export async function measureApi(
  size: BenchSize,
  options: { seconds: number; rounds: number; storeUrl?: string | undefined; outDir: string },
): Promise<ApiMeasurement> {
  const generated = options.storeUrl ? undefined : await createCorrelationStore(scaleForSize(size));
  const url = options.storeUrl ?? generated!.url;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-api-'));
  const env = {
    DATABASE_URL: url,
    ACCESSTRAIL_DATA_DIR: dataDir,
    ENTRA_METABASE_APP_IDS: APP_ID,
    ENTRA_ADMIN_GROUP_IDS: ADMIN_GROUP,
    ACCESSTRAIL_LOG_FORMAT: 'json',
  };
  const servers: Server[] = [];
  try {
    const config = parseConfig(env, dataDir);
    const store = await openStore({ databaseUrl: url, poolSize: 4 });
    let reportId: string;
    let key: string;
    try {
      await correlateFromConfig(store.db, config, { from: period.from, to: period.to, asOf, purpose: 'current' });
      const report = await createReport(
        { db: store.db, config, now: () => asOf },
        { framework: 'soc2', period, formats: ['json'], outDir: path.join(dataDir, 'out') },
      );
      reportId = report.reportId;
      key = (await createApiKeyRepository(store.db).create({ name: 'bench', scopes: ['reports:read', 'findings:read'] })).key;
    } finally {
      await store.close();
    }
    mkdirSync(options.outDir, { recursive: true });
    const logFile = path.join(options.outDir, 'api-serve.log');
    const app = await startServer(['app'], env, logFile);
    servers.push(app);
    const auth = { authorization: `Bearer ${key}` };

    const reportPath = `/v1/reports/${encodeURIComponent(reportId)}`;
    const report = await get(app.base + reportPath, auth);
    // Every page of findings, 100 a page.
    const pages: { path: string; body: string; etag: string | null }[] = [];
    let findings = 0;
    for (let cursor: string | null = null, first = true; first || cursor !== null; first = false) {
      const pagePath: string = `/v1/findings?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const got = await get(app.base + pagePath, auth);
      const parsed = JSON.parse(got.body) as { items: unknown[]; nextCursor: string | null };
      findings += parsed.items.length;
      pages.push({ path: pagePath, ...got });
      cursor = parsed.nextCursor;
    }

    // A first read: the first page again, under a cursor no page gave out (after "00",
    // "01", …: every finding id starts with its rule's name, so each is the same first
    // page, by the same index range), so each request is a page no cache has seen.
    let unseen = 0;
    const uncachedFirstPage = () =>
      `/v1/findings?limit=100&cursor=${Buffer.from(JSON.stringify([`0${unseen++}`]), 'utf8').toString('base64url')}`;
    const firstReads: number[] = [];
    const count = size === 'quick' ? 30 : 100;
    for (let n = 1; n <= count; n++) {
      const started = performance.now();
      const got = await get(app.base + uncachedFirstPage(), auth);
      firstReads.push(performance.now() - started);
      if (n === 1 && got.body.replace(/"nextCursor":.*$/, '') !== pages[0]!.body.replace(/"nextCursor":.*$/, ''))
        throw new Error('a first read did not read the first page');
    }
    firstReads.sort((a, b) => a - b);

    const bodies: Record<string, string> = { [reportPath]: report.body };
    for (const page of pages) bodies[page.path] = page.body;
    const bodiesFile = path.join(dataDir, 'bodies.json');
    writeFileSync(bodiesFile, JSON.stringify(bodies));
    const bare = await startServer(['bare', bodiesFile], {}, path.join(dataDir, 'bare.log'));
    servers.push(bare);
    const bareTag = (body: string) => `"${createHash('sha256').update(body).digest('hex')}"`;

    const pagesBytes = pages.reduce((sum, page) => sum + Buffer.byteLength(page.body), 0) / pages.length;
    const pagesWhat = `${findings} findings in ${pages.length} page${pages.length === 1 ? '' : 's'}`;
    const targets: Target[] = [
      {
        stage: 'api: stored report JSON',
        bytes: Buffer.byteLength(report.body),
        what: '',
        expect: '2xx',
        app: [{ path: reportPath, headers: auth }],
        bare: [{ path: reportPath }],
      },
      {
        stage: 'api: pages of 100 findings',
        bytes: pagesBytes,
        what: pagesWhat,
        expect: '2xx',
        app: pages.map((page) => ({ path: page.path, headers: auth })),
        bare: pages.map((page) => ({ path: page.path })),
      },
      {
        // Every request a first read (a cursor no cache has seen): what a page costs to make.
        stage: 'api: first page of findings, never cached',
        bytes: Buffer.byteLength(pages[0]!.body),
        what: `${Math.min(findings, 100)} findings`,
        expect: '2xx',
        app: [{ path: pages[0]!.path, headers: auth, setupRequest: (request) => ({ ...request, path: uncachedFirstPage() }) }],
        bare: [{ path: pages[0]!.path }],
      },
    ];
    // What HTTP clients of GRC tools send by default (Python requests, Go, .NET, curl
    // --compressed): the service answers with the body gzipped once; the bare route
    // answers with the same gzipped bytes, made once too.
    const gzip = { 'accept-encoding': 'gzip, deflate' };
    const gzipped = (body: string) => gzipSync(Buffer.from(body, 'utf8')).length;
    targets.push(
      {
        stage: 'api: stored report JSON, gzip',
        bytes: gzipped(report.body),
        what: '',
        expect: '2xx',
        app: [{ path: reportPath, headers: { ...auth, ...gzip } }],
        bare: [{ path: reportPath, headers: gzip }],
      },
      {
        stage: 'api: pages of 100 findings, gzip',
        bytes: pages.reduce((sum, page) => sum + gzipped(page.body), 0) / pages.length,
        what: pagesWhat,
        expect: '2xx',
        app: pages.map((page) => ({ path: page.path, headers: { ...auth, ...gzip } })),
        bare: pages.map((page) => ({ path: page.path, headers: gzip })),
      },
    );
    if (report.etag) {
      targets.push({
        stage: 'api: stored report JSON, revalidated (304)',
        bytes: 0,
        what: '',
        expect: '3xx',
        app: [{ path: reportPath, headers: { ...auth, 'if-none-match': report.etag } }],
        bare: [{ path: reportPath, headers: { 'if-none-match': bareTag(report.body) } }],
      });
    }
    if (pages.every((page) => page.etag)) {
      targets.push({
        stage: 'api: pages of 100 findings, revalidated (304)',
        bytes: 0,
        what: pagesWhat,
        expect: '3xx',
        app: pages.map((page) => ({ path: page.path, headers: { ...auth, 'if-none-match': page.etag! } })),
        bare: pages.map((page) => ({ path: page.path, headers: { 'if-none-match': bareTag(page.body) } })),
      });
    }

    // Warm both servers on every target, then rounds: the service and the bare route in turn.
    for (const target of targets) {
      await load(app.base, target.app, 1, target.expect);
      await load(bare.base, target.bare, 1, target.expect);
    }
    const measured = targets.map(() => ({ app: [] as Load[], bare: [] as Load[] }));
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, target] of targets.entries()) {
        measured[i]!.app.push(await load(app.base, target.app, options.seconds, target.expect));
        measured[i]!.bare.push(await load(bare.base, target.bare, options.seconds, target.expect));
      }
    }
    const loadAverage = (await import('node:os'))
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ');
    const requestsServed = measured.reduce((sum, m) => sum + m.app.reduce((s, l) => s + l.requestsPerSecond * options.seconds, 0), 0);
    servers.length = 0;
    const peakRssMb = await app.stop();
    await bare.stop();
    return {
      rows: targets.map((target, i) => ({ target, app: medianRound(measured[i]!.app), bare: medianRound(measured[i]!.bare) })),
      firstRead: {
        p50: firstReads[Math.floor(firstReads.length / 2)]!,
        p99: firstReads[Math.min(firstReads.length - 1, Math.floor(firstReads.length * 0.99))]!,
        count,
      },
      findings,
      pages: pages.length,
      peakRssMb,
      logBytesPerRequest: statSync(logFile).size / Math.max(requestsServed, 1),
      loadAverage,
    };
  } finally {
    for (const server of servers) await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await generated?.drop();
  }
}

function rowsOf(m: ApiMeasurement, size: string): BenchRow[] {
  return m.rows.map(({ target, app, bare }) => {
    const problems = app.errors || app.unexpected ? `; ${app.errors} errors, ${app.unexpected} unexpected answers` : '';
    const firstRead =
      target.stage === 'api: pages of 100 findings'
        ? `; a first read (nothing cached, 1 connection): p50 ${m.firstRead.p50.toFixed(1)} ms, p99 ${m.firstRead.p99.toFixed(1)} ms`
        : '';
    return {
      stage: target.stage,
      size: [size, target.what, target.bytes ? `${(target.bytes / 1024).toFixed(0)} KB body` : 'no body', `${CONNECTIONS} connections`]
        .filter(Boolean)
        .join(', '),
      throughput: { value: app.requestsPerSecond, unit: 'requests/s' },
      // Seconds per request at that rate, so the table's ratio compares rates.
      seconds: 1 / Math.max(app.requestsPerSecond, 1e-9),
      peakRssMb: m.peakRssMb,
      reference: {
        name: `bare Fastify, same bytes (${Math.round(bare.requestsPerSecond)} req/s, p50 ${bare.p50} ms, p99 ${bare.p99} ms)`,
        seconds: 1 / Math.max(bare.requestsPerSecond, 1e-9),
      },
      note: `p50 ${app.p50} ms, p99 ${app.p99} ms${app.p99 < 10 ? ' (aim < 10 ms met)' : ' (aim < 10 ms NOT met)'}${firstRead}${problems}; load ${m.loadAverage}`,
    };
  });
}

export const benchmark: Benchmark = {
  name: 'api',
  description:
    'autocannon, 50 connections, against the service in its own process: a stored report JSON and the pages of findings (and their 304s), beside a bare route with the same bytes',
  sizes: ['quick', '10k', '100k'],
  async run({ size, storeUrl, outDir }) {
    const m = await measureApi(size, { seconds: size === 'quick' ? 2 : 5, rounds: size === 'quick' ? 1 : 3, storeUrl, outDir });
    return rowsOf(m, size === '100k' ? '2,000 accounts' : '200 accounts');
  },
};

if (isMain(import.meta.url)) {
  const size = (argValue(process.argv, 'size') ?? '10k') as BenchSize;
  const m = await measureApi(size, {
    seconds: Number(argValue(process.argv, 'seconds') ?? 5),
    rounds: Number(argValue(process.argv, 'rounds') ?? 3),
    storeUrl: argValue(process.argv, 'store'),
    outDir: path.join(here, 'out'),
  });
  for (const row of rowsOf(m, size))
    console.log(`${row.stage}: ${Math.round(row.throughput!.value)} req/s; ${row.note}; reference ${row.reference!.name}`);
  console.log(`server peak RSS ${m.peakRssMb} MB; ${m.logBytesPerRequest.toFixed(0)} bytes of log per request`);
  process.exit(0);
}
