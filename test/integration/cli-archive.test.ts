// `accesstrail archive` as an operator runs it (the real clock, a real process): the dry
// run says what and why, the run archives and drops, `verify --store` reads the file
// back, a report over the archived month is refused with the way out, and
// `archive --restore` loads it back.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openStore } from '../../src/store/database.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';
import { signInRecord } from '../support/factories.js';

const run = promisify(execFile);
const bin = path.resolve('bin/accesstrail.js');

describe.runIf(await postgresAvailable())('accesstrail archive', () => {
  let database: TestDatabase;
  let cwd: string;
  let env: Record<string, string>;
  // Old enough for any clock this test runs under, and one month that is never old enough.
  const now = new Date();
  const old = new Date(Date.UTC(now.getUTCFullYear() - 3, 4, 10));
  const oldMonth = old.toISOString().slice(0, 7);
  const recent = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1, 12));

  async function cli(args: string[], extra: Record<string, string> = {}) {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd, env: { ...env, ...extra } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code: number; stdout: string; stderr: string };
      return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
    }
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    cwd = mkdtempSync(path.join(tmpdir(), 'accesstrail-cli-archive-'));
    env = { PATH: process.env['PATH'] ?? '', DATABASE_URL: database.url, ACCESSTRAIL_DATA_DIR: cwd, ACCESSTRAIL_LOG_LEVEL: 'silent' };
    const store = await openStore({ databaseUrl: database.url });
    await store.db.insertInto('source').values({ id: 'entra:cli', kind: 'entra', display_name: 'CLI', settings: '{}' }).execute();
    await createEvidenceRepository(store.db).writeEvents('entra_sign_in', 'entra:cli', [
      signInRecord({ id: 'old-1', at: old.toISOString() }),
      signInRecord({ id: 'old-2', at: new Date(old.getTime() + 3_600_000).toISOString() }),
      signInRecord({ id: 'recent', at: recent.toISOString() }),
    ]);
    await store.close();
  });
  afterAll(async () => {
    await database?.drop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('does nothing without a retention setting', async () => {
    const result = await cli(['archive']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS is not set: evidence is kept forever');
  });

  it('refuses a retention that is not a whole positive number of months, naming the setting', async () => {
    const result = await cli(['archive'], { ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '0' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS must be positive');
  });

  it('archives, verifies, refuses a report over the archive, and restores it', async () => {
    const retention = { ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '12' };
    const plan = await cli(['archive', '--dry-run'], retention);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`would archive +entra_sign_in ${oldMonth}: before the retention horizon`));
    expect(plan.stdout).toMatch(new RegExp(`keep +entra_sign_in ${recent.toISOString().slice(0, 7)}: inside the retention horizon`));

    const done = await cli(['archive'], retention);
    expect(done.code).toBe(0);
    const file = path.join(cwd, 'archive', `entra_sign_in_${oldMonth.replace('-', '_')}.1.ndjson.gz`);
    expect(done.stdout).toContain(`archived entra_sign_in ${oldMonth}: 2 rows → ${file} (sha256 `);

    const verify = await cli(['verify', '--store']);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('evidence chain intact: 1 batches, 3 rows');
    expect(verify.stdout).toContain('2 of those rows read back from 1 archive file(s)');

    const report = await cli(['report', '--framework', 'soc2', '--from', `${oldMonth}-01`, '--to', `${oldMonth}-20`]);
    expect(report.code).toBe(1);
    expect(report.stderr).toContain('includes evidence archived out of the store');
    expect(report.stderr).toContain('accesstrail archive --restore');

    const restored = await cli(['archive', '--restore', file]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(`restored 2 rows of entra_sign_in into entra_sign_in_${oldMonth.replace('-', '_')}`);
    const again = await cli(['verify', '--store']);
    expect(again.stdout).toContain('evidence chain intact: 1 batches, 3 rows');
    expect(again.stdout).not.toContain('archive file');
  });
});
