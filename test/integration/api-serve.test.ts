// `accesstrail keys` and `accesstrail serve` as a user runs them (real processes), and
// the collection schedule with the real runner.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCollectionRunner } from '../../src/api/collection-runner.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, openTestStore, type TestDatabase, type TestStore } from '../support/database.js';

const run = promisify(execFile);
const bin = path.resolve('bin/accesstrail.js');

describe('accesstrail keys and serve', () => {
  let database: TestDatabase;
  let env: Record<string, string>;
  let cwd: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    cwd = mkdtempSync(path.join(tmpdir(), 'accesstrail-serve-'));
    env = { PATH: process.env['PATH'] ?? '', DATABASE_URL: database.url, ACCESSTRAIL_DATA_DIR: path.join(cwd, 'data') };
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function cli(args: string[]) {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], { cwd, env });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code: number; stdout: string; stderr: string };
      return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
    }
  }

  it('serves with a key from `keys create`, refuses it after `keys revoke`, and stops cleanly on SIGTERM', async () => {
    const created = await cli(['keys', 'create', '--name', 'grc', '--scopes', 'reports:read,findings:read']);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^at_[0-9A-Za-z]{40}$/);
    expect(created.stderr).toContain('shown only this once');

    // Usage and lookup failures run alongside the server (each process start costs seconds).
    const failures = Promise.all([
      cli(['keys', 'create', '--name', 'x', '--scopes', 'reports:read,everything']),
      cli(['keys', 'revoke', 'key_000000']),
    ]);

    const server = spawn(process.execPath, [bin, 'serve'], { cwd, env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      const address = await new Promise<string>((resolve, reject) => {
        const timer = setInterval(() => {
          const match = /accesstrail API listening on (http:\/\/[0-9.]+:\d+)/.exec(stderr);
          if (match) {
            clearInterval(timer);
            resolve(match[1]!);
          }
        }, 50);
        void exited.then(() => reject(new Error(`serve exited: ${stderr}`)));
      });
      expect(stderr.match(/listening on/g)).toHaveLength(1);
      expect((await fetch(`${address}/healthz`)).status).toBe(200);
      expect((await fetch(`${address}/v1/findings`)).status).toBe(401);
      const ok = await fetch(`${address}/v1/findings`, { headers: { authorization: `Bearer ${key}` } });
      expect(ok.status).toBe(200);

      const listed = await cli(['keys', 'list']);
      expect(listed.stdout).toContain(key.slice(0, 9));
      expect(listed.stdout).not.toContain(key);
      const id = /^(key_[0-9a-f]+)/.exec(listed.stdout)![1]!;
      const revoked = await cli(['keys', 'revoke', id]);
      expect(revoked.code).toBe(0);
      expect((await fetch(`${address}/v1/findings`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(401);
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('"signal":"SIGTERM"');
    // The log on a pipe is JSON written asynchronously (src/logger.ts): every line whole,
    // one per request, and the stopping line above flushed before the process ended.
    const lines = stderr.split('\n').filter(Boolean);
    const entries = lines.map((line) => JSON.parse(line) as { msg: string; res?: { statusCode: number } });
    expect(entries.filter((entry) => entry.msg === 'request completed').map((entry) => entry.res?.statusCode)).toEqual([
      200, 401, 200, 401,
    ]);
    expect(stderr).not.toContain(key);
    const [bad, unknown] = await failures;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--scopes: unknown scope "everything"');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no API key with id key_000000');
  });

  it('creates a key with an expiry and lists it; refuses an expiry that is not a number of days', { timeout: 180_000 }, async () => {
    const [noDays, made] = await Promise.all([
      cli(['keys', 'create', '--name', 'y', '--scopes', 'reports:read', '--expires-in-days', '0']),
      cli(['keys', 'create', '--name', 'quarterly-audit', '--scopes', 'reports:read', '--expires-in-days', '90']),
    ]);
    expect(noDays.code).toBe(2);
    expect(noDays.stderr).toContain('--expires-in-days must be a whole number of days above 0 (got "0")');
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toMatch(/scopes reports:read, expires \d{4}-\d{2}-\d{2}T/);
    const listed = await cli(['keys', 'list']);
    expect(listed.stdout).toMatch(/quarterly-audit {2}\[reports:read\] {2}created \S+ {2}never used {2}expires \S+ {2}active/);
  });
});

describe('collection runner', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore('postgres');
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('refuses a second collection of the same source while one runs (CONFLICT, 409 over HTTP) and frees the lock afterwards', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-runner-'));
    // A Metabase database that accepts connections and never answers holds the first run.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const runner = createCollectionRunner({
      store,
      config: parseConfig({ ACCESSTRAIL_DATA_DIR: dataDir, METABASE_DB_URL: `postgres://reader@127.0.0.1:${port}/metabase` }, dataDir),
      logger: createLogger({ level: 'silent' }),
    });
    const first = runner.start({ source: 'metabase', requestedBy: 'test' });
    await first;
    await expect(runner.start({ source: 'metabase', requestedBy: 'test' })).rejects.toMatchObject({ code: 'CONFLICT', httpStatus: 409 });
    for (const socket of sockets) socket.destroy();
    silent.close();
    await runner.close();
    expect(runner.busy()).toBe(false);
    const again = await runner.start({ source: 'metabase', requestedBy: 'test' });
    await runner.close();
    const runs = await store.db.selectFrom('collection_run').select(['id', 'status', 'error']).orderBy('id').execute();
    expect(runs.map((run) => run.id)).toEqual([await first, again]);
    expect(runs.every((run) => run.status === 'failed')).toBe(true);
  });
});
