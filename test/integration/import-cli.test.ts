// `accesstrail import` as a user runs it: Entra exports (fixtures and the source of their
// columns: test/fixtures/imports/README.md) and the Metabase usage-analytics CSV kinds.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';

const run = promisify(execFile);
const bin = path.resolve('bin/accesstrail.js');

describe('accesstrail import', () => {
  let database: TestDatabase | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'accesstrail-import-'));
  beforeAll(async () => {
    if (await postgresAvailable()) database = await createTestDatabase();
  });
  afterAll(async () => database?.drop());

  async function cli(args: string[], extraEnv: Record<string, string> = {}) {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
        cwd: dir,
        env: { PATH: process.env['PATH'] ?? '', ...(database ? { DATABASE_URL: database.url } : {}), ...extraEnv },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code: number; stdout: string; stderr: string };
      return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
    }
  }

  it('loads a query log export with --kind metabase-query-log, and refuses an unknown kind', async (context) => {
    if (!database) return context.skip();
    const file = path.join(dir, 'query-log.csv');
    writeFileSync(
      file,
      'Entity ID,Started At,Running Time Seconds,Result Rows,Is Native,Query Source,User ID,Card ID,Dashboard ID,Database ID,Error\n101,2026-03-01T09:00:00Z,1.5,10,false,question,2,7,,2,\n',
    );
    const ok = await cli(['import', '--kind', 'metabase-query-log', file]);
    expect(ok.code, ok.stderr).toBe(0);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query('select upstream_id, executor_id::int as executor_id from metabase_query_execution');
    await client.end();
    expect(rows).toEqual([{ upstream_id: '101', executor_id: 2 }]);

    const bad = await cli(['import', '--kind', 'metabase-cards', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kind must be one of');
    expect(bad.stderr).toContain('metabase-query-log');
  });

  it('imports Entra exports by their columns, prints what it claimed, and refuses a contradicting --kind with exit 1', async (context) => {
    if (!database) return context.skip();
    const fixtures = path.resolve('test/fixtures/imports');
    const env = { AZURE_TENANT_ID: '9f8e7d6c-5b4a-4321-9876-543210fedcba' };
    const ok = await cli(
      ['import', path.join(fixtures, 'InteractiveSignIns_2026-07-01_2026-07-02.csv'), path.join(fixtures, 'AuditLogs_2026-07-02.csv')],
      env,
    );
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('entra-sign-ins: 4 records (4 new, 0 revised, 2 quarantined)');
    expect(ok.stdout).toContain('coverage claimed on entra-sign-ins:interactive');
    expect(ok.stdout).toContain('entra-directory-audits: 4 records (4 new, 0 revised, 0 quarantined)');

    const wrong = await cli(
      ['import', '--kind', 'entra-interactive-sign-ins', path.join(fixtures, 'ApplicationSignIns_2026-07-01_2026-07-02.csv')],
      env,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("the requested kind entra-interactive-sign-ins contradicts the file's columns");

    const filtered = await cli(['import', '--no-coverage', path.join(fixtures, 'SigninLogs_2026-07-04.csv')], env);
    expect(filtered.code, filtered.stderr).toBe(0);
    expect(filtered.stdout).toContain('no coverage claimed (as asked)');
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query('select stream, count(*)::int as n from coverage_window group by stream order by stream');
    const sources = await client.query('select id from source');
    await client.end();
    expect(rows).toEqual([
      { stream: 'entra-directory-audits', n: 1 },
      { stream: 'entra-sign-ins:interactive', n: 1 },
    ]);
    expect(sources.rows.map((r) => r.id)).toContain('entra:9f8e7d6c-5b4a-4321-9876-543210fedcba');
  });
});
