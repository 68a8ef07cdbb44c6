// Secrets planted in the configuration — the Entra client secret, a Metabase API key,
// passwords inside METABASE_DB_URL and DATABASE_URL (the local Postgres trusts loopback,
// so any password is accepted and the runs succeed), the bootstrap API key — must never
// appear in what the commands print (stdout, stderr at log level trace), in the files
// they write (reports in every rendering, manifests), in API responses (every route, the
// OpenAPI document, errors), or in the store rows the API and reports are made from.
// Also: the Metabase connection the collector opens is read-only (a write through it
// fails, on Postgres and MariaDB), and a CSV cell that starts like a formula is defused.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openAppDb } from '../../src/collectors/metabase/app-db.js';
import { SAMPLE_COLLECTOR_SECRET } from '../../src/emulators/entra/sample.js';
import { createMetabaseAppDatabase, generateMetabaseDataset } from '../../src/emulators/metabase/index.js';
import { openStore } from '../../src/store/database.js';
import { type AppDatabase, createAppDatabase } from '../integration/metabase-helpers.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';
import { collectArgs, REPO_ROOT, runCli, startUpstreams, type Upstreams } from './harness.js';

const DB_PASSWORD = 'PlantedDbPassw0rd-7f3a';
const STORE_PASSWORD = 'PlantedStorePassw0rd-91c2';
const METABASE_API_KEY = 'mb_PlantedMetabaseApiKey0123456789abcdef=';
const BOOTSTRAP = `at_PlantedBootstrap${'0123456789'.repeat(3)}`;
const SECRETS = [SAMPLE_COLLECTOR_SECRET, DB_PASSWORD, STORE_PASSWORD, METABASE_API_KEY, BOOTSTRAP];

function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => path.join(dir, name))
    .filter((file) => statSync(file).isFile());
}

function expectNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) {
    const at = text.indexOf(secret);
    expect(at, `${where} contains a planted secret: …${text.slice(Math.max(0, at - 120), at + 20)}`).toBe(-1);
    // Also not in the common encodings a log or a page might use.
    expect(text.includes(encodeURIComponent(secret)), `${where} (URL-encoded)`).toBe(false);
    expect(text.includes(Buffer.from(secret).toString('base64')), `${where} (base64)`).toBe(false);
  }
}

describe.runIf(await postgresAvailable())('planted secrets never leak; the Metabase connection is read-only', () => {
  let upstreams: Upstreams;
  let database: TestDatabase;
  let dataDir: string;
  let env: Record<string, string>;
  const captured: Array<{ where: string; text: string }> = [];

  beforeAll(async () => {
    upstreams = await startUpstreams({
      entraSignIns: 40,
      entraAudits: 10,
      entraUsers: 12,
      metabaseUsers: 4,
      metabaseDays: 2,
      pageSize: 100,
    });
    database = await createTestDatabase();
    dataDir = mkdtempSync(path.join(tmpdir(), 'secrets-data-'));
    env = upstreams.env(withPassword(database.url, STORE_PASSWORD), {
      METABASE_DB_URL: withPassword(upstreams.metabaseDbUrl, DB_PASSWORD),
      ACCESSTRAIL_DATA_DIR: dataDir,
      ACCESSTRAIL_LOG_LEVEL: 'trace',
      ACCESSTRAIL_API_KEYS_BOOTSTRAP: BOOTSTRAP,
    });
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
    await upstreams?.close();
  });

  it('collect and report (successful runs, log level trace) print and write no secret', async () => {
    const collected = await runCli(
      collectArgs(upstreams).filter((a) => a !== '--no-correlate'),
      env,
    );
    expect(collected.code, collected.stderr.slice(-500)).toBe(0);
    captured.push({ where: 'collect stdout', text: collected.stdout }, { where: 'collect stderr', text: collected.stderr });
    const out = path.join(dataDir, 'out');
    const report = await runCli(
      [
        'report',
        '--framework',
        'iso27001',
        '--from',
        upstreams.since.toISOString(),
        '--to',
        new Date(upstreams.until.getTime() + 86_400_000).toISOString(),
        '--out',
        out,
      ],
      env,
    );
    expect(report.code, report.stderr.slice(-500)).toBe(0);
    captured.push({ where: 'report stdout', text: report.stdout }, { where: 'report stderr', text: report.stderr });
    for (const file of filesUnder(dataDir)) captured.push({ where: file, text: readFileSync(file).toString('latin1') });
    for (const c of captured) expectNoSecret(c.text, c.where);
    expect(collected.stderr.length).toBeGreaterThan(0); // trace logging did produce output to search
  }, 300_000);

  it('failing runs (refused secret, unreachable Metabase API, unreachable Metabase database) name the variable, never the value', async () => {
    const cases: Array<Record<string, string>> = [
      { AZURE_CLIENT_SECRET: `${SAMPLE_COLLECTOR_SECRET}-wrong` },
      { METABASE_URL: 'http://127.0.0.1:9/', METABASE_API_KEY },
      { METABASE_DB_URL: `postgres://postgres:${DB_PASSWORD}@127.0.0.1:9/metabase` },
      { METABASE_DB_URL: `mysql://root:${DB_PASSWORD}@127.0.0.1:9/metabase` },
      { DATABASE_URL: `postgres://postgres:${STORE_PASSWORD}@127.0.0.1:9/store` },
    ];
    for (const overrides of cases) {
      const outcome = await runCli(collectArgs(upstreams), { ...env, ...overrides });
      expect(outcome.code, JSON.stringify(Object.keys(overrides))).not.toBe(0);
      expect(outcome.stderr).toMatch(/accesstrail: /);
      expectNoSecret(outcome.stdout + outcome.stderr, `failing collect with ${Object.keys(overrides).join(', ')}`);
    }
  }, 300_000);

  it('serve: no secret in any API response, error or log line', async () => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/accesstrail.js'), 'serve'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /listening on (http:\/\/[^\s"]+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      child.on('exit', () => reject(new Error(`serve exited: ${stderr}`)));
    });
    try {
      const get = async (url: string, headers: Record<string, string> = {}) => {
        const response = await fetch(`${address}${url}`, { headers });
        const text = await response.text();
        captured.push({ where: `GET ${url}`, text: `${JSON.stringify([...response.headers])}\n${text}` });
        return { status: response.status, text };
      };
      const auth = { authorization: `Bearer ${BOOTSTRAP}` };
      const reports = JSON.parse((await get('/v1/reports', auth)).text) as { items: Array<{ id: string }> };
      expect(reports.items.length).toBeGreaterThan(0);
      const id = reports.items[0]!.id;
      for (const url of [
        '/healthz',
        '/readyz',
        '/openapi.json',
        '/v1/findings',
        '/v1/accounts',
        '/v1/coverage',
        `/v1/reports/${id}`,
        `/v1/reports/${id}?format=oscal`,
        `/v1/reports/${id}?format=csv`,
        `/v1/reports/${id}?format=pdf`,
        `/v1/reports/${id}/verify`,
        '/v1/collections/1',
        '/v1/people/nobody',
        '/metrics',
      ]) {
        await get(url, auth);
      }
      // A refusal of a key that is the bootstrap key plus one character (the header is redacted from the log).
      await get('/v1/reports', { authorization: `Bearer ${BOOTSTRAP}x` });
      const posted = await fetch(`${address}/v1/collections`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ source: 'all' }),
      });
      captured.push({ where: 'POST /v1/collections', text: await posted.text() });
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const runs = await get('/v1/collections/3', auth);
      captured.push({ where: 'collection run', text: runs.text });
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.on('close', resolve));
    }
    captured.push({ where: 'serve stderr', text: stderr }, { where: 'serve stdout', text: stdout });
    for (const c of captured) expectNoSecret(c.text, c.where);
  }, 300_000);

  it('no secret in the store rows reports and the API are made from', async () => {
    const store = await openStore({ databaseUrl: database.url, migrate: false, poolSize: 2 });
    try {
      for (const table of [
        'source',
        'collection_run',
        'source_capability',
        'quarantined_record',
        'report',
        'api_key',
        'coverage_window',
        'stream_checkpoint',
      ]) {
        const { rows } = await sql`select * from ${sql.table(table)}`.execute(store.db);
        expectNoSecret(JSON.stringify(rows), `table ${table}`);
      }
      // The bootstrap key is there, as its hash only.
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from api_key where name = 'bootstrap'`.execute(store.db);
      expect(rows[0]!.n).toBe(1);
    } finally {
      await store.close();
    }
  });

  describe('the collector\u2019s Metabase connection is read-only', () => {
    let mariadb: AppDatabase;
    beforeAll(async () => {
      mariadb = await createAppDatabase('mysql');
      await createMetabaseAppDatabase({
        url: mariadb.url,
        version: 60,
        dataset: generateMetabaseDataset({ start: new Date('2026-03-01T00:00:00Z'), days: 1, users: 2 }),
      });
    });
    afterAll(async () => {
      await mariadb?.drop();
    });

    it.each([
      { engine: 'postgres', url: () => upstreams.metabaseDbUrl, refusal: /read-only transaction/ },
      { engine: 'mysql', url: () => mariadb.url, refusal: /READ ONLY|read-only|read only/i },
    ])('$engine: inserts, updates, deletes and DDL through it fail, inside and outside its transactions', async ({ url, refusal }) => {
      const db = await openAppDb(url());
      try {
        const writes = [
          "update core_user set first_name = 'pwned' where id = 1",
          'delete from login_history',
          "insert into permissions_group (name) values ('pwned')",
          'create table pwned (id int)',
        ];
        for (const statement of writes) {
          await expect(db.query(statement), statement).rejects.toThrow(refusal);
          await expect(
            db.readOnlyTransaction(() => db.query(statement)),
            `${statement} (in its transaction)`,
          ).rejects.toThrow(refusal);
        }
        const [row] = await db.query('select first_name from core_user where id = 1');
        expect(row?.['first_name']).not.toBe('pwned');
      } finally {
        await db.close();
      }
    });
  });
});
