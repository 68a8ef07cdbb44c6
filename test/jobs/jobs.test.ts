// The durable jobs with the clock in the test's hand: a collection is followed by a
// correlation and, once the quarter has closed and the settle delay has passed, by the
// quarter's signed reports (listed by the API, announced by a signed webhook). The
// retention guard warns on the right day in the log, /readyz, /v1/coverage, /metrics and
// the webhook. Real Postgres (and the embedded store), the Entra emulator, pg-boss.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiKeyRepository } from '../../src/api/api-keys.js';
import { type ApiApp, buildApp } from '../../src/api/app.js';
import { type Config, parseConfig } from '../../src/config.js';
import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import { sampleDataset } from '../../src/emulators/entra/sample.js';
import { createServiceMetrics, type ServiceMetrics } from '../../src/jobs/metrics.js';
import { closedQuarters } from '../../src/jobs/quarterly-reports.js';
import { createJobSystem, type JobSystem, QUEUES } from '../../src/jobs/system.js';
import { createLogger } from '../../src/logger.js';
import { loadTrustedPublicKeys, verifySignedModel } from '../../src/reports/signing.js';
import { openStore } from '../../src/store/database.js';
import { judgeFreshness } from '../../src/store/freshness.repository.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { entraEnv, fastEntra, jobCount, queuesIdle, startWebhookReceiver, waitFor, type WebhookReceiver } from './support.js';

const Q1_CLOSE = new Date('2026-04-01T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SECRET = 'webhook-shared-secret-value';

function capturingLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString('utf8'));
      callback();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), text: () => lines.join('') };
}

describe('collect → correlate → quarterly reports, with the clock under control', () => {
  let emulator: EntraEmulator;
  let store: TestStore;
  let receiver: WebhookReceiver;
  let jobs: JobSystem;
  let app: ApiApp;
  let config: Config;
  let metrics: ServiceMetrics;
  let dataDir: string;
  const log = capturingLogger();
  let clock = new Date(Q1_CLOSE.getTime() + 3 * HOUR);
  const now = () => clock;

  beforeAll(async () => {
    // Twenty days of sign-ins and audits before the quarter closes.
    emulator = await startEntraEmulator({ dataset: sampleDataset({ now: Q1_CLOSE, days: 20, signIns: 40 }), maxPageSize: 25 });
    store = await openTestStore('postgres');
    receiver = await startWebhookReceiver(SECRET);
    dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-jobs-'));
    config = parseConfig(
      {
        ACCESSTRAIL_DATA_DIR: dataDir,
        ...entraEnv(emulator),
        ENTRA_LOG_RETENTION_DAYS: '30',
        ACCESSTRAIL_WEBHOOK_URL: receiver.url,
        ACCESSTRAIL_WEBHOOK_SECRET: SECRET,
      },
      dataDir,
    );
    metrics = createServiceMetrics();
    jobs = createJobSystem({
      store,
      config,
      logger: log.logger,
      now,
      metrics,
      entra: fastEntra(emulator),
      pollingIntervalSeconds: 0.5,
      schedule: false,
      collectAtStart: false,
    });
    await jobs.start();
    app = await buildApp({ store, config, logger: createLogger({ level: 'silent' }), now, jobs, metrics });
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.stop();
    metrics?.close();
    await receiver?.close();
    await emulator?.close();
    await store?.dispose();
  });

  it('due quarters: a quarter is due only once its settle delay has passed', () => {
    expect(closedQuarters(new Date(Q1_CLOSE.getTime() + 5 * HOUR), 6).at(-1)!.label).toBe('2025-Q4');
    expect(closedQuarters(new Date(Q1_CLOSE.getTime() + 6 * HOUR), 6).at(-1)!.label).toBe('2026-Q1');
  });

  it('collects and correlates at 03:00 after the close, but waits with the reports for the settle delay', async () => {
    await jobs.send(QUEUES.collectDue);
    await waitFor(
      'the correlation after the collection',
      async () => (await jobCount(store, QUEUES.reports, 'completed')) >= 1 && (await queuesIdle(store)),
    );
    const runs = await store.db.selectFrom('collection_run').select(['status', 'requested', 'summary']).execute();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.status).toBe('succeeded');
    // Metabase is not configured: the schedule asks for Entra only (not a partial run).
    expect(runs[0]!.requested).toMatchObject({ source: 'entra', requestedBy: 'scheduler' });
    const current = await store.db.selectFrom('correlation_run').select(['purpose', 'as_of']).execute();
    expect(current).toEqual([{ purpose: 'current', as_of: clock }]);
    expect(await store.db.selectFrom('report').select('id').execute()).toEqual([]);
  });

  it('at the end of the settle delay builds, signs and stores the quarter’s SOC 2 and ISO 27001 reports, once', async () => {
    clock = new Date(Q1_CLOSE.getTime() + 6 * HOUR);
    await jobs.send(QUEUES.watch);
    await waitFor(
      'two reports',
      async () => (await store.db.selectFrom('report').select('id').execute()).length === 2 && (await queuesIdle(store)),
    );
    const reports = await store.db
      .selectFrom('report')
      .select(['id', 'framework', 'period_from', 'period_to', 'provisional', 'content'])
      .orderBy('framework')
      .execute();
    expect(reports.map((r) => [r.framework, r.period_from, r.period_to, r.provisional])).toEqual([
      ['iso27001', new Date('2026-01-01T00:00:00Z'), Q1_CLOSE, false],
      ['soc2', new Date('2026-01-01T00:00:00Z'), Q1_CLOSE, false],
    ]);
    for (const report of reports) expect(verifySignedModel(JSON.stringify(report.content), loadTrustedPublicKeys(dataDir)).ok).toBe(true);

    // Listed by the reports API.
    const key = (await createApiKeyRepository(store.db).create({ name: 'grc', scopes: ['reports:read'] })).key;
    const listed = await app.inject({ method: 'GET', url: '/v1/reports', headers: { authorization: `Bearer ${key}` } });
    expect(
      listed
        .json<{ items: { id: string }[] }>()
        .items.map((i) => i.id)
        .sort(),
    ).toEqual(reports.map((r) => r.id).sort());

    // Announced by the webhook, signed.
    await waitFor('two report.ready deliveries', async () => receiver.received.filter((r) => r.event.type === 'report.ready').length === 2);
    const ready = receiver.received.filter((r) => r.event.type === 'report.ready');
    expect(ready.every((r) => r.signatureValid)).toBe(true);
    expect(ready.map((r) => r.event.data['reportId']).sort()).toEqual(reports.map((r) => r.id).sort());

    // A later check builds nothing again.
    clock = new Date(clock.getTime() + DAY);
    await jobs.send(QUEUES.watch);
    await waitFor('the next watch', async () => (await jobCount(store, QUEUES.watch, 'completed')) >= 2 && (await queuesIdle(store)));
    expect(await store.db.selectFrom('report').select('id').execute()).toHaveLength(2);
  });

  it('warns that Entra evidence is about to be lost exactly 7 days before the retention runs out, then that it is lost', async () => {
    const lastCovered = new Date(Q1_CLOSE.getTime() + 3 * HOUR);
    const warnAt = new Date(lastCovered.getTime() + 23 * DAY);
    expect(judgeFreshness(lastCovered, 30, new Date(warnAt.getTime() - 1000)).status).toBe('fresh');
    expect(judgeFreshness(lastCovered, 30, warnAt).status).toBe('expiring');

    clock = new Date(warnAt.getTime() - 60_000);
    const before = await app.inject({ method: 'GET', url: '/readyz' });
    expect(before.json()).toMatchObject({ status: 'ready', detail: { warnings: [] } });
    await jobs.send(QUEUES.watch);
    await waitFor(
      'a watch a minute before the warning',
      async () => (await jobCount(store, QUEUES.watch, 'completed')) >= 3 && (await queuesIdle(store)),
    );
    expect(receiver.received.filter((r) => r.event.type === 'evidence.expiring')).toEqual([]);
    expect(log.text()).not.toContain('collect now');

    clock = warnAt;
    await jobs.send(QUEUES.watch);
    await waitFor(
      'the evidence.expiring deliveries',
      async () => receiver.received.filter((r) => r.event.type === 'evidence.expiring').length === 2,
    );
    const expiring = receiver.received.filter((r) => r.event.type === 'evidence.expiring');
    expect(expiring.every((r) => r.signatureValid)).toBe(true);
    expect(expiring.map((r) => r.event.data['stream']).sort()).toEqual(['entra-directory-audits', 'entra-sign-ins']);
    expect(expiring[0]!.event.data).toMatchObject({
      lastCoveredTo: lastCovered.toISOString(),
      expiresAt: new Date(lastCovered.getTime() + 30 * DAY).toISOString(),
      daysLeft: 7,
    });
    expect(log.text()).toMatch(
      /entra-sign-ins of entra:[^ ]+: last collected up to 2026-04-01T03:00:00.000Z; .* \(7 days left\): collect now/,
    );

    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(
      ready
        .json<{ detail: { warnings: { stream: string; status: string }[] } }>()
        .detail.warnings.map((w) => `${w.stream} ${w.status}`)
        .sort(),
    ).toEqual(['entra-directory-audits expiring', 'entra-sign-ins expiring']);
    const key = (await createApiKeyRepository(store.db).create({ name: 'coverage', scopes: ['reports:read'] })).key;
    const coverage = await app.inject({ method: 'GET', url: '/v1/coverage', headers: { authorization: `Bearer ${key}` } });
    const streams = coverage.json<{
      sources: { streams: { stream: string; freshness: { status: string; daysLeft: number } | null }[] }[];
    }>().sources[0]!.streams;
    expect(streams.find((s) => s.stream === 'entra-sign-ins')!.freshness).toMatchObject({
      status: 'expiring',
      daysLeft: 7,
      retentionDays: 30,
    });

    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(text).toMatch(/accesstrail_evidence_retention_days_left\{source="entra:[^"]+",stream="entra-sign-ins"\} 7/);
    expect(text).toMatch(
      /accesstrail_last_complete_collection_timestamp_seconds\{source="entra:[^"]+",stream="entra-sign-ins"\} 1775012400/,
    );
    expect(text).toMatch(/accesstrail_collection_runs_total\{source="entra:[^"]+",outcome="succeeded"\} 1/);
    expect(text).toMatch(/accesstrail_records_collected_total\{source="entra:[^"]+",stream="entra-sign-ins"\} 40/);
    expect(text).toMatch(/accesstrail_graph_requests_total [1-9]/);
    expect(text).toMatch(/accesstrail_job_queue_depth\{queue="collect"\} 0/);
    expect(text).toMatch(/accesstrail_http_request_duration_seconds_count\{method="GET",route="\/readyz",status_code="200"\} 2/);
    for (const secret of [SECRET, 'emulator-secret-value', key, 'token=abc']) expect(text).not.toContain(secret);

    // Past the retention: lost, said once more (a different event), never "fresh" again.
    clock = new Date(lastCovered.getTime() + 30 * DAY + HOUR);
    await jobs.send(QUEUES.watch);
    await waitFor(
      'the evidence.lost deliveries',
      async () => receiver.received.filter((r) => r.event.type === 'evidence.lost').length === 2,
    );
    expect(
      (await app.inject({ method: 'GET', url: '/readyz' }))
        .json<{ detail: { warnings: { status: string }[] } }>()
        .detail.warnings.map((w) => w.status),
    ).toEqual(['lost', 'lost']);
  });

  it('retries a webhook delivery the receiver refused, and signs every attempt', async () => {
    receiver.failNext(2);
    const before = receiver.received.length;
    await jobs.notify('collection.failing', { source: 'metabase', consecutiveFailures: 3, lastError: 'test' });
    // pg-boss retries after 30 s, 60 s… (backoff); the test moves the retries forward.
    await waitFor('a failed attempt', async () => (await jobCount(store, QUEUES.webhook, 'retry')) === 1);
    await sql`update accesstrail_jobs.job set start_after = now() where name = 'webhook' and state = 'retry'`.execute(store.db);
    await waitFor(
      'a second failed attempt',
      async () => (await jobCount(store, QUEUES.webhook, 'retry')) === 1 && receiver.received.length === before,
    );
    await waitFor('the delivery', async () => {
      await sql`update accesstrail_jobs.job set start_after = now() where name = 'webhook' and state = 'retry'`.execute(store.db);
      return receiver.received.length === before + 1;
    });
    expect(receiver.received.at(-1)!.event.type).toBe('collection.failing');
    expect(receiver.received.at(-1)!.signatureValid).toBe(true);
  });
});

describe('jobs on the embedded store (PGlite)', () => {
  it('runs pg-boss on PGlite through the store’s own connection: a collection, then the correlation', async () => {
    const emulator = await startEntraEmulator({ dataset: sampleDataset({ now: Q1_CLOSE, days: 3, signIns: 10 }) });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-jobs-pglite-'));
    const store = await openStore({ dataDir: 'memory://' });
    const config = parseConfig({ ACCESSTRAIL_DATA_DIR: dataDir, ...entraEnv(emulator) }, dataDir);
    const clock = new Date(Q1_CLOSE.getTime() + HOUR);
    const jobs = createJobSystem({
      store,
      config,
      logger: createLogger({ level: 'silent' }),
      now: () => clock,
      entra: fastEntra(emulator),
      pollingIntervalSeconds: 0.5,
      schedule: false,
      collectAtStart: false,
    });
    try {
      await jobs.start();
      await jobs.send(QUEUES.collectDue);
      await waitFor(
        'the correlation',
        async () => (await store.db.selectFrom('correlation_run').select('id').execute()).length === 1 && (await queuesIdle(store)),
      );
      const runs = await store.db.selectFrom('collection_run').select(['status']).execute();
      expect(runs).toEqual([{ status: 'succeeded' }]);
      expect((await store.db.selectFrom('entra_sign_in').select('upstream_id').execute()).length).toBe(10);
    } finally {
      await jobs.stop();
      await store.close();
      await emulator.close();
    }
  });
});

describe('collections failing in a row', () => {
  it('tells the webhook once when a source has failed ACCESSTRAIL_ALERT_AFTER_FAILURES times in a row', async () => {
    const store = await openTestStore('postgres');
    const receiver = await startWebhookReceiver(SECRET);
    const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-jobs-failing-'));
    // Nothing listens on port 1: every Metabase collection fails at once.
    const config = parseConfig(
      {
        ACCESSTRAIL_DATA_DIR: dataDir,
        METABASE_DB_URL: 'postgres://reader:reader-password@127.0.0.1:1/metabase',
        ACCESSTRAIL_ALERT_AFTER_FAILURES: '2',
        ACCESSTRAIL_WEBHOOK_URL: receiver.url,
        ACCESSTRAIL_WEBHOOK_SECRET: SECRET,
      },
      dataDir,
    );
    const jobs = createJobSystem({
      store,
      config,
      logger: createLogger({ level: 'silent' }),
      pollingIntervalSeconds: 0.5,
      schedule: false,
      collectAtStart: false,
    });
    try {
      await jobs.start();
      for (let i = 1; i <= 3; i++) {
        await jobs.send(QUEUES.collectDue);
        await waitFor(
          `failed collection ${i}`,
          async () =>
            (await store.db.selectFrom('collection_run').select('id').where('status', '=', 'failed').execute()).length === i &&
            (await queuesIdle(store)),
        );
      }
      await waitFor('the delivery', async () => receiver.received.length >= 1);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(
        receiver.received.map((r) => [r.event.type, r.event.data['source'], r.event.data['consecutiveFailures'], r.signatureValid]),
      ).toEqual([['collection.failing', 'metabase', 2, true]]);
      expect(JSON.stringify(receiver.received)).not.toContain('reader-password');
    } finally {
      await jobs.stop();
      await receiver.close();
      await store.dispose();
    }
  }, 180_000);
});
