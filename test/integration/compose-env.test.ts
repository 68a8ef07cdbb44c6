// The shipped docker-compose.yml's environment, as compose hands it to the container
// with nothing set in the shell or a .env file (`${VAR:-}` becomes an empty string),
// starts `serve`. Only DATABASE_URL is replaced: its host `postgres` exists only on
// compose's network. `docker-compose config -q` (compose 1.29) must accept the file.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { parseConfig } from '../../src/config.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';

const bin = path.resolve('bin/accesstrail.js');

/** Compose's interpolation with an empty environment: ${VAR:-default} and ${VAR-default} give the default, ${VAR} and $VAR nothing. */
function interpolate(value: string): string {
  return value.replace(
    /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}|\$([A-Z0-9_]+)/g,
    (_match, _name: string, fallback: string | undefined) => fallback ?? '',
  );
}

function composeEnvironment(): Record<string, string> {
  const file = parse(readFileSync(path.resolve('docker-compose.yml'), 'utf8')) as {
    services: Record<string, { environment: Record<string, string | number> }>;
  };
  return Object.fromEntries(
    Object.entries(file.services['accesstrail']!.environment).map(([name, value]) => [name, interpolate(String(value))]),
  );
}

describe.runIf(await postgresAvailable())('the docker-compose environment', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('passes empty strings for unset settings, and the configuration reads them as unset', () => {
    const env = composeEnvironment();
    expect(env['ACCESSTRAIL_LOG_LEVEL']).toBe('');
    expect(env['ACCESSTRAIL_COLLECT_SCHEDULE']).toBe('');
    const config = parseConfig(env, mkdtempSync(path.join(tmpdir(), 'compose-')));
    expect(config.ACCESSTRAIL_LOG_LEVEL).toBe('info');
    expect(config.ENTRA_LOG_RETENTION_DAYS).toBe(30);
    expect(config.AZURE_AUTHORITY_HOST).toBe('https://login.microsoftonline.com');
    expect(config.ACCESSTRAIL_REPORT_SETTLE_HOURS).toBe(6);
    expect(config.ACCESSTRAIL_WEBHOOK_URL).toBeUndefined();
    expect(config.AZURE_TENANT_ID).toBeUndefined();
    // Evidence retention: passed through, empty = keep forever, archives on the data volume.
    expect(env['ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS']).toBe('');
    expect(env['ACCESSTRAIL_ARCHIVE_DIR']).toBe('');
    expect(config.ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS).toBeUndefined();
    expect(config.archiveDir).toBe('/var/lib/accesstrail/archive');
  });

  it('is accepted by docker-compose config', () => {
    const check = spawnSync('docker-compose', ['config', '-q'], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '' } });
    if (check.error && (check.error as NodeJS.ErrnoException).code === 'ENOENT') return; // compose not installed here
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('starts `serve`, which answers /readyz and stops on SIGTERM', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'compose-serve-'));
    const env = {
      ...composeEnvironment(),
      DATABASE_URL: database.url,
      ACCESSTRAIL_DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      PATH: process.env['PATH'] ?? '',
    };
    const server = spawn(process.execPath, [bin, 'serve'], { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
        void exited.then(() => {
          clearInterval(timer);
          reject(new Error(`serve exited: ${stderr}`));
        });
      });
      const ready = await fetch(`${address}/readyz`);
      expect(ready.status).toBe(200);
      expect(stderr).toContain('scheduled collection: 0 * * * * (UTC)');
      expect(stderr).not.toContain('Invalid option');
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
