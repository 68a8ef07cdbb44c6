// Entra collection figures, against the local HTTPS emulator and a fresh Postgres store:
//  1. throughput: sign-ins per second collected into the store (emulator throttle off,
//     1,000 per page), beside a plain HTTPS GET + JSON.parse of the same pages in the
//     same run (the floor set by the emulator and the network stack);
//  2. pacing: with the reporting throttle on, the share of the throttle's allowance the
//     collector used (aim above 0.9) and how many 429s it met. Graph's limit is 5 requests
//     per 10 s; by default it is scaled to 5 per 2 s so the run takes seconds (the pacer
//     and the emulator both work in the same window, so the share is the same figure);
//  3. windows: reporting requests per 1,000 records for a sparse and a dense tenant,
//     beside the minimum (full pages of 1,000: records / 1,000 rounded up, per stream)
//     and beside the old fixed one-day windows measured in the same run (aim: within
//     1.5x of the minimum).
//
//   npx tsx bench/entra-collect.ts [--sign-ins 50000] [--paced-requests 40] [--window-ms 2000]
//                                  [--sparse-sign-ins 6000] [--dense-sign-ins 45000] [--only windows]
import { request } from 'node:https';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';

import { collectEntra } from '../src/collectors/entra/index.js';
import type { WindowPolicy } from '../src/collectors/entra/log-streams.js';
import { type CollectContext, silentProgress } from '../src/collectors/types.js';
import { parseConfig } from '../src/config.js';
import { type EntraEmulator, startEntraEmulator } from '../src/emulators/entra/index.js';
import {
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_COLLECTOR_SECRET,
  SAMPLE_METABASE_APP_ID,
  sampleDataset,
} from '../src/emulators/entra/sample.js';
import { createLogger } from '../src/logger.js';
import { createCollectionRepository } from '../src/store/collection.repository.js';
import { openStore } from '../src/store/database.js';
import { createEvidenceRepository } from '../src/store/evidence.repository.js';
import { createTestDatabase } from '../test/support/database.js';

function arg(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? Number(process.argv[index + 1]) : fallback;
}

const signInCount = arg('sign-ins', 50_000);
const pacedRequests = arg('paced-requests', 40);
const windowMs = arg('window-ms', 2_000);
const sparseSignIns = arg('sparse-sign-ins', 6_000);
const denseSignIns = arg('dense-sign-ins', 45_000);
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex > 0 ? process.argv[onlyIndex + 1] : undefined;
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const since = new Date(now.getTime() - 2 * 86_400_000);

function getJson(agent: Agent, url: string, token: string): Promise<{ value: unknown[]; '@odata.nextLink'?: string }> {
  return new Promise((resolve, reject) => {
    request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as { value: unknown[] }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

async function plainToken(emulator: EntraEmulator, agent: Agent): Promise<string> {
  const body = new URLSearchParams({
    client_id: SAMPLE_COLLECTOR_CLIENT_ID,
    client_secret: SAMPLE_COLLECTOR_SECRET,
    grant_type: 'client_credentials',
    scope: `${emulator.url}/.default`,
  }).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      `${emulator.authorityHost}/${emulator.tenantId}/oauth2/v2.0/token`,
      { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { access_token: string }).access_token));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function collectOnce(
  emulator: EntraEmulator,
  limit: { requests: number; windowMs: number } | null,
  options: { since?: Date; retentionDays?: number; windows?: Partial<WindowPolicy> } = {},
) {
  const database = await createTestDatabase('accesstrail_bench');
  const store = await openStore({ databaseUrl: database.url });
  try {
    const collection = createCollectionRepository(store.db);
    const runId = await collection.startRun('collect', {});
    const context: CollectContext = {
      store,
      evidence: createEvidenceRepository(store.db),
      collection,
      config: parseConfig({
        AZURE_TENANT_ID: emulator.tenantId,
        AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
        AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
        AZURE_AUTHORITY_HOST: emulator.authorityHost,
        GRAPH_BASE_URL: emulator.graphBaseUrl,
        ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
        ...(options.retentionDays ? { ENTRA_LOG_RETENTION_DAYS: String(options.retentionDays) } : {}),
      }),
      logger: createLogger({ level: 'silent' }),
      runId,
      progress: silentProgress,
      now: () => now,
    };
    const started = performance.now();
    const summary = await collectEntra(context, {
      since: options.since ?? since,
      entra: { tlsCa: emulator.caCertificatePem, reportingLimit: limit, ...(options.windows ? { windows: options.windows } : {}) },
    });
    return { seconds: (performance.now() - started) / 1000, summary };
  } finally {
    await store.close();
    await database.drop();
  }
}

// --- 1. throughput ------------------------------------------------------------------
if (!only || only === 'throughput') {
  const emulator = await startEntraEmulator({
    dataset: sampleDataset({ now, days: 2, signIns: signInCount, directoryAudits: 10, users: 20 }),
  });
  try {
    const { seconds, summary } = await collectOnce(emulator, null);
    const signIns = summary.streams.find((s) => s.stream === 'entra-sign-ins')!;
    const pages = emulator.stats.byPath['beta/auditLogs/signIns'] ?? 0;

    // The same records, fetched plainly in one-day windows (the collector's windows adapt;
    // over 2 days both read about 50 full pages).
    const agent = new Agent({ keepAlive: true, ca: [...rootCertificates, emulator.caCertificatePem] });
    const token = await plainToken(emulator, agent);
    const plainStarted = performance.now();
    let plainRecords = 0;
    for (let from = since.getTime(); from < now.getTime(); from += 86_400_000) {
      const to = Math.min(from + 86_400_000, now.getTime());
      const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const filter = `createdDateTime ge ${iso(from)} and createdDateTime le ${iso(to)} and appId eq '${SAMPLE_METABASE_APP_ID}' and signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')`;
      let url: string | undefined = `${emulator.url}/beta/auditLogs/signIns?$filter=${encodeURIComponent(filter)}&$top=1000`;
      while (url) {
        const page = await getJson(agent, url, token);
        plainRecords += page.value.length;
        url = page['@odata.nextLink'];
      }
    }
    const plainSeconds = (performance.now() - plainStarted) / 1000;
    agent.destroy();
    console.log(`throughput: ${signIns.records} sign-ins in ${pages} pages`);
    console.log(
      `  collector into the store: ${seconds.toFixed(2)} s for the whole run → ${Math.round(signIns.records / seconds)} sign-ins/s`,
    );
    console.log(
      `  plain GET + JSON.parse:   ${plainSeconds.toFixed(2)} s → ${Math.round(plainRecords / plainSeconds)} sign-ins/s (${plainRecords} records)`,
    );
    console.log(`  ratio collector / plain: ${(plainSeconds / seconds).toFixed(2)}`);
  } finally {
    await emulator.close();
  }
}

// --- 2. pacing against the throttle ----------------------------------------------------
if (!only || only === 'pacing') {
  const limit = { requests: 5, windowMs };
  // Pages of 25 sign-ins over one day make `pacedRequests` reporting requests in total.
  const emulator = await startEntraEmulator({
    dataset: sampleDataset({ now, days: 1, signIns: (pacedRequests - 3) * 25, directoryAudits: 5, users: 5 }),
    maxPageSize: 25,
    faults: { throttle: limit },
  });
  try {
    const { seconds } = await collectOnce(emulator, limit);
    const times = emulator.stats.reportingTimes;
    const span = times[times.length - 1]! - times[0]!;
    // Allowance over the span: `requests` per window, counting the window the first burst opens.
    const allowed = limit.requests * ((span + limit.windowMs) / limit.windowMs);
    console.log(`pacing: throttle ${limit.requests} requests / ${limit.windowMs} ms (Graph: 5 / 10 000 ms)`);
    console.log(
      `  ${times.length} reporting requests over ${(span / 1000).toFixed(2)} s (run ${seconds.toFixed(2)} s), 429s from the throttle: ${emulator.stats.throttled}`,
    );
    console.log(`  share of the allowance used: ${(times.length / allowed).toFixed(3)}`);
  } finally {
    await emulator.close();
  }
}

// --- 3. adaptive windows: requests per 1,000 records ------------------------------------
if (!only || only === 'windows') {
  const DAY = 86_400_000;
  const fixedDay: Partial<WindowPolicy> = { windowMs: DAY, maxWindowMs: DAY };
  const tenants = [
    // The case: 6,000 Metabase sign-ins over 120 days (a tenant keeping 120 days).
    { name: 'sparse', days: 120, signIns: sparseSignIns, audits: Math.round(sparseSignIns / 4) },
    { name: 'dense', days: 30, signIns: denseSignIns, audits: Math.round(denseSignIns / 4) },
  ];
  const paths = [
    { stream: 'entra-sign-ins', path: 'beta/auditLogs/signIns' },
    { stream: 'entra-directory-audits', path: 'v1.0/auditLogs/directoryAudits' },
  ];
  console.log('windows: reporting requests per 1,000 records (minimum = full pages of 1,000; reference = fixed one-day windows, same run)');
  for (const tenant of tenants) {
    const emulator = await startEntraEmulator({
      dataset: sampleDataset({ now, days: tenant.days, signIns: tenant.signIns, directoryAudits: tenant.audits, users: 20 }),
    });
    try {
      const tenantSince = new Date(now.getTime() - tenant.days * DAY);
      const measure = async (windows: Partial<WindowPolicy> | undefined) => {
        emulator.resetStats();
        const { summary } = await collectOnce(emulator, null, {
          since: tenantSince,
          retentionDays: tenant.days,
          ...(windows ? { windows } : {}),
        });
        return paths.map(({ stream, path }) => {
          const s = summary.streams.find((x) => x.stream === stream)!;
          return { stream, records: s.records + s.quarantined, requests: emulator.stats.byPath[path] ?? 0 };
        });
      };
      const adaptive = await measure(undefined);
      const reference = await measure(fixedDay);
      const per1000 = (requests: number, records: number) => ((requests * 1000) / Math.max(1, records)).toFixed(2);
      console.log(`  ${tenant.name}: ${tenant.signIns} sign-ins and ${tenant.audits} audits over ${tenant.days} days`);
      let total = { adaptive: 0, reference: 0, minimum: 0, records: 0 };
      for (const [i, a] of adaptive.entries()) {
        const r = reference[i]!;
        const minimum = Math.ceil(a.records / 1000);
        total = {
          adaptive: total.adaptive + a.requests,
          reference: total.reference + r.requests,
          minimum: total.minimum + minimum,
          records: total.records + a.records,
        };
        console.log(
          `    ${a.stream.padEnd(23)} ${String(a.records).padStart(6)} records: adaptive ${String(a.requests).padStart(4)} requests = ${per1000(a.requests, a.records)} per 1,000 | minimum ${String(minimum).padStart(4)} = ${per1000(minimum, a.records)} | one-day windows ${String(r.requests).padStart(4)} = ${per1000(r.requests, r.records)} | adaptive / minimum ${(a.requests / Math.max(1, minimum)).toFixed(2)}`,
        );
      }
      // At Graph's reporting limit (5 requests per 10 s) every request costs 2 s.
      console.log(
        `    both streams: adaptive ${total.adaptive} requests (${per1000(total.adaptive, total.records)} per 1,000, ${((total.adaptive * 2) / 60).toFixed(1)} min at 5 per 10 s), minimum ${total.minimum}, one-day windows ${total.reference} (${((total.reference * 2) / 60).toFixed(1)} min); adaptive / minimum ${(total.adaptive / Math.max(1, total.minimum)).toFixed(2)}`,
      );
    } finally {
      await emulator.close();
    }
  }
}
