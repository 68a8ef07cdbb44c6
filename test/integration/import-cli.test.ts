// `accesstrail import` as a user runs it, for the Metabase usage-analytics CSV kinds.
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

describe('accesstrail import of Metabase usage-analytics exports', () => {
  let database: TestDatabase | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'accesstrail-import-'));
  beforeAll(async () => {
    if (await postgresAvailable()) database = await createTestDatabase();
  });
  afterAll(async () => database?.drop());

  async function cli(args: string[]) {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd: dir, env: { PATH: process.env['PATH'] ?? '', ...(database ? { DATABASE_URL: database.url } : {}) } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code: number; stdout: string; stderr: string };
      return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
    }
  }

  it('loads a query log export with --kind metabase-query-log, and refuses an unknown kind', async (context) => {
    if (!database) return context.skip();
    const file = path.join(dir, 'query-log.csv');
    writeFileSync(file, 'Entity ID,Started At,Running Time Seconds,Result Rows,Is Native,Query Source,User ID,Card ID,Dashboard ID,Database ID,Error\n101,2026-03-01T09:00:00Z,1.5,10,false,question,2,7,,2,\n');
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
});
