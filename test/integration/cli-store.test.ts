// The CLI as a user runs it: a real process, exit codes and output.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { metabaseInstance } from '../../src/collectors/metabase/index.js';
import { metabaseSourceId } from '../../src/store/streams.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';

const run = promisify(execFile);
const bin = path.resolve('bin/accesstrail.js');

async function cli(args: string[], env: Record<string, string> = {}, cwd?: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
      cwd: cwd ?? mkdtempSync(path.join(tmpdir(), 'accesstrail-cli-')),
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('accesstrail migrate and verify --store', () => {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    if (await postgresAvailable()) database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('works on the embedded store, twice', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'accesstrail-cli-'));
    const first = await cli(['migrate'], {}, cwd);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('applied 0001_evidence_model');
    const second = await cli(['migrate'], {}, cwd);
    expect(second.stdout).toContain('is up to date');
    const verify = await cli(['verify', '--store'], {}, cwd);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('evidence chain intact');
  });

  it('works with DATABASE_URL, and two processes migrating at once both succeed', async (context) => {
    if (!database) return context.skip();
    const env = { DATABASE_URL: database.url };
    const [a, b] = await Promise.all([cli(['migrate'], env), cli(['migrate'], env)]);
    expect([a.code, b.code]).toEqual([0, 0]);
    // Exactly one of them applied the migrations; the other found nothing to do.
    const applied = [a.stdout, b.stdout].filter((out) => out.includes('applied 0001_evidence_model'));
    expect(applied).toHaveLength(1);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query('select count(*)::int as n from schema_migration');
    await client.end();
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
  });

  it('stops with exit 2 and one line naming a bad setting, without printing its value', async () => {
    const result = await cli(['migrate'], { DATABASE_URL: 'mysql://admin:s3cr3t-value@db/x' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('accesstrail: DATABASE_URL must be a postgres:// connection string');
    expect(result.stderr + result.stdout).not.toContain('s3cr3t-value');
  });

  it('stops with exit 1 when the store cannot be reached, naming it without the password', async () => {
    const result = await cli(['migrate'], { DATABASE_URL: 'postgres://postgres:pw-do-not-print@127.0.0.1:1/nowhere' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('cannot connect to the store at postgres://127.0.0.1:1/nowhere (DATABASE_URL)');
    expect(result.stderr).not.toContain('pw-do-not-print');
  });

  it('answers bad usage with exit 2', async () => {
    const result = await cli(['collect', '--source', 'jira']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--source must be entra, metabase or all');
  });
});

describe('accesstrail collect while another process collects the same source', () => {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    if (await postgresAvailable()) database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('exits 1 (CONFLICT), naming the source and the --wait option', async (context) => {
    if (!database) return context.skip();
    const metabaseDbUrl = 'postgres://reader@127.0.0.1:5432/metabase_elsewhere';
    const env = { DATABASE_URL: database.url, METABASE_DB_URL: metabaseDbUrl };
    expect((await cli(['migrate'], env)).code).toBe(0);
    // What `serve` holds while it collects the source: the session lock of its name
    // (class 0x0ac7, src/jobs/collection-run.ts).
    const sourceId = metabaseSourceId(metabaseInstance({ dbUrl: metabaseDbUrl }));
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1, hashtext($2))', [0x0ac7, sourceId]);
      const refused = await cli(['collect', '--source', 'metabase', '--no-correlate'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`${sourceId} is being collected by another run; wait for it to finish (or use --wait)`);
    } finally {
      await holder.end();
    }
  });
});
