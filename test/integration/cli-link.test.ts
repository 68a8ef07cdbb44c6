// Manual identity links, and report usage errors, as a user runs them.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';

const run = promisify(execFile);
const bin = path.resolve('bin/accesstrail.js');

describe('accesstrail link', () => {
  let database: TestDatabase | undefined;
  const cwd = mkdtempSync(path.join(tmpdir(), 'accesstrail-link-'));
  beforeAll(async () => {
    if (await postgresAvailable()) database = await createTestDatabase();
  });
  afterAll(async () => database?.drop());

  async function cli(args: string[]) {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
        cwd,
        env: { PATH: process.env['PATH'] ?? '', ...(database ? { DATABASE_URL: database.url } : {}) },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code: number; stdout: string; stderr: string };
      return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
    }
  }

  async function query(text: string) {
    const client = new pg.Client({ connectionString: database!.url });
    await client.connect();
    try {
      return (await client.query(text)).rows;
    } finally {
      await client.end();
    }
  }

  it('adds, lists and revokes a manual link, recording who and why', async (context) => {
    if (!database) return context.skip();
    expect((await cli(['migrate'])).code).toBe(0);
    const none = await cli(['link', 'add', '--account', '42', '--person', 'p-ada', '--by', 'alice', '--reason', 'r']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('the store holds no Metabase source yet');
    await query(`insert into source (id, kind, display_name) values ('metabase:bi', 'metabase', 'BI')`);

    const added = await cli(['link', 'add', '--account', '42', '--person', 'p-ada', '--by', 'alice', '--reason', 'shared mailbox renamed']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/manual link (\d+): metabase:bi account 42 → person p-ada \(by alice\)/);
    // Neither is collected yet: the link is kept, and the operator is told.
    expect(added.stderr).toContain('account 42 is not in the store yet');
    expect(added.stderr).toContain('person p-ada is not in the store yet');
    const id = /manual link (\d+)/.exec(added.stdout)![1]!;
    expect(
      await query('select account_id::int as account_id, person_id, created_by, reason, revoked_at from manual_identity_link'),
    ).toEqual([{ account_id: 42, person_id: 'p-ada', created_by: 'alice', reason: 'shared mailbox renamed', revoked_at: null }]);
    expect((await cli(['link', 'list'])).stdout).toContain('p-ada\talice');

    expect((await cli(['link', 'revoke', id, '--by', 'bob'])).code).toBe(0);
    const again = await cli(['link', 'revoke', id, '--by', 'bob']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`accesstrail: no active manual link ${id}`);
  });

  it('refuses a bad account id, and asks for --source when the store holds several Metabase sources', async (context) => {
    if (!database) return context.skip();
    const bad = await cli(['link', 'add', '--account', 'ada', '--person', 'p', '--by', 'a', '--reason', 'r']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--account must be a Metabase account id (got "ada")');

    await query(`insert into source (id, kind, display_name) values ('metabase:second', 'metabase', 'Second')`);
    const ambiguous = await cli(['link', 'add', '--account', '7', '--person', 'p', '--by', 'a', '--reason', 'r']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('--source is needed: the store holds 2 Metabase sources (metabase:bi, metabase:second)');
    const unknownSource = await cli([
      'link',
      'add',
      '--account',
      '7',
      '--person',
      'p',
      '--by',
      'a',
      '--reason',
      'r',
      '--source',
      'metabase:nope',
    ]);
    expect(unknownSource.code).toBe(2);
    expect(unknownSource.stderr).toContain('no Metabase source "metabase:nope" in the store (metabase:bi, metabase:second)');
    const badId = await cli(['link', 'revoke', 'x1', '--by', 'a']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('the link id must be a number (got "x1")');
  });

  it('stops a report without a period with exit 2', async () => {
    const result = await cli(['report', '--framework', 'soc2']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('accesstrail: a period is needed: --period 2026-Q3, or --from and --to');
  });
});
