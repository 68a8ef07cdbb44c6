// `accesstrail doctor` as a real process: trust via NODE_EXTRA_CA_CERTS (the production
// path), one line per check with ✓/✗, exit 0 only when every required check passes,
// --json for tools, no secret in any output, and nothing created (an embedded store that
// does not exist stays absent).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { doctorTenantDataset } from '../../src/emulators/entra/doctor-tenant.js';
import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import {
  SAMPLE_ADMIN_GROUP_ID,
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_COLLECTOR_SECRET,
  SAMPLE_METABASE_APP_ID,
} from '../../src/emulators/entra/sample.js';
import {
  emptyDataset as emptyMetabaseDataset,
  type MetabaseApiEmulator,
  startMetabaseApiEmulator,
} from '../../src/emulators/metabase/index.js';
import { openTestStore, postgresAvailable, type TestStore } from '../support/database.js';

const API_KEY = 'mb_doctorCliKey0123456789abcdef';

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/accesstrail.js', ...args], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe.runIf(await postgresAvailable())('accesstrail doctor (process)', () => {
  let emulator: EntraEmulator;
  let store: TestStore;
  let caFile: string;
  let workDir: string;
  let metabaseApi: MetabaseApiEmulator;

  const env = (overrides: Record<string, string> = {}) => ({
    DATABASE_URL: store.url!,
    NODE_EXTRA_CA_CERTS: caFile,
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
    AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    GRAPH_BASE_URL: emulator.graphBaseUrl,
    ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
    ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
    METABASE_URL: metabaseApi.url,
    METABASE_API_KEY: API_KEY,
    ACCESSTRAIL_LOG_LEVEL: 'warn',
    ...overrides,
  });

  beforeAll(async () => {
    // Metabase's REST API emulator is the Metabase address the app's redirect URI names.
    metabaseApi = await startMetabaseApiEmulator({ dataset: emptyMetabaseDataset(), apiKey: API_KEY });
    emulator = await startEntraEmulator({ dataset: doctorTenantDataset({ now: new Date(), metabaseUrl: metabaseApi.url }) });
    workDir = mkdtempSync(path.join(tmpdir(), 'doctor-cli-'));
    caFile = path.join(workDir, 'emulator-ca.pem');
    writeFileSync(caFile, emulator.caCertificatePem);
    store = await openTestStore('postgres');
  });

  afterAll(async () => {
    await emulator?.close();
    await metabaseApi?.close();
    await store?.dispose();
  });

  it('prints one ✓ line per check and exits 0 on a correct configuration', async () => {
    const { code, stdout, stderr } = await run(['doctor'], env());
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines).toContain('Entra ID');
    expect(lines.some((l) => /^ {2}✓ credential obtains a token: client secret of app /.test(l))).toBe(true);
    expect(lines.some((l) => /^ {2}✓ store migrated: schema version \d+/.test(l))).toBe(true);
    expect(stdout).not.toMatch(/^ {2}✗/m);
    expect(stdout).toMatch(/all required checks pass/);
    expect(stdout).not.toContain(SAMPLE_COLLECTOR_SECRET);
    expect(stdout).not.toContain(API_KEY);
  }, 60_000);

  it('prints ✗ with the fix on the same line and exits 1 when a required check fails', async () => {
    emulator.setFaults({ forbidden: ['auditLogs/directoryAudits'] });
    try {
      const { code, stdout, stderr } = await run(['doctor'], env());
      expect(code).toBe(1);
      expect(stdout).toMatch(
        /^ {2}✗ Graph AuditLog\.Read\.All: directory audits: GET \/v1\.0\/auditLogs\/directoryAudits is denied \(403\) → fix: grant the collector app the application permission AuditLog\.Read\.All/m,
      );
      expect(stderr).toBe('accesstrail: doctor: 1 required check failed\n');
    } finally {
      emulator.setFaults({});
    }
  }, 60_000);

  it('--json gives every check with status, detail and fix', async () => {
    const { code, stdout } = await run(['doctor', '--json'], env({ AZURE_CLIENT_SECRET: 'not-the-secret-0000' }));
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as {
      ok: boolean;
      failed: number;
      checks: { name: string; status: string; ok: boolean; detail: string; fix?: string }[];
    };
    expect(report.ok).toBe(false);
    const token = report.checks.find((c) => c.name === 'credential obtains a token')!;
    expect(token).toMatchObject({ status: 'fail', ok: false });
    expect(token.fix).toMatch(/AZURE_CLIENT_SECRET/);
    expect(stdout).not.toContain('not-the-secret-0000');
  }, 60_000);

  it('does not create an embedded store that does not exist', async () => {
    const dataDir = path.join(workDir, 'no-store-here');
    const { code, stdout } = await run(['doctor'], { ...env(), DATABASE_URL: '', ACCESSTRAIL_DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stdout).toMatch(/✗ store reachable: no embedded store in .*no-store-here/);
    expect(existsSync(dataDir)).toBe(false);
    // Once migrated, the embedded store passes, opened without migrating.
    expect((await run(['migrate'], { ...env(), DATABASE_URL: '', ACCESSTRAIL_DATA_DIR: dataDir })).code).toBe(0);
    const after = await run(['doctor', '--json'], { ...env(), DATABASE_URL: '', ACCESSTRAIL_DATA_DIR: dataDir });
    const report = JSON.parse(after.stdout) as { checks: { name: string; status: string; detail: string }[] };
    expect(report.checks.find((c) => c.name === 'store reachable')).toMatchObject({ status: 'pass' });
    expect(report.checks.find((c) => c.name === 'store migrated')?.detail).toMatch(/all \d+ migrations applied/);
    expect(after.code).toBe(0);
  }, 240_000);
});
