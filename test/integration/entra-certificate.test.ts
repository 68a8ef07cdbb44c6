// A certificate credential end to end: the collector and `accesstrail doctor` sign in
// with AZURE_CLIENT_CERTIFICATE_PATH through the real @azure/identity
// ClientCertificateCredential (MSAL's private_key_jwt client assertion), against the
// emulator's token endpoint, which checks the assertion as Entra does: signed by the
// registered certificate's key, named by its thumbprint, aud = the token endpoint,
// iss = sub = the client id (learn.microsoft.com, "Microsoft identity platform
// application authentication certificate credentials"). A certificate the app does not
// list is refused with AADSTS700027.
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { collectEntra } from '../../src/collectors/entra/index.js';
import { type CollectContext, silentProgress } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import { type Check, runDoctor } from '../../src/doctor/index.js';
import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import {
  SAMPLE_ADMIN_GROUP_ID,
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_METABASE_APP_ID,
  sampleDataset,
} from '../../src/emulators/entra/sample.js';
import { createLogger } from '../../src/logger.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { streams } from '../../src/store/streams.js';
import { openTestStore, postgresAvailable, type TestStore } from '../support/database.js';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const DAY = 86_400_000;

describe.runIf(await postgresAvailable())('a certificate credential (AZURE_CLIENT_CERTIFICATE_PATH)', () => {
  let emulator: EntraEmulator;
  let store: TestStore;
  let folder: string;
  let registeredFile: string;
  let strangerFile: string;
  let registeredKey: string;

  beforeAll(async () => {
    folder = mkdtempSync(path.join(tmpdir(), 'accesstrail-entra-cert-'));
    const registered = await generate([{ name: 'commonName', value: 'accesstrail collector' }], { keySize: 2048 });
    const stranger = await generate([{ name: 'commonName', value: 'someone else' }], { keySize: 2048 });
    registeredKey = registered.private;
    // The file ClientCertificateCredential reads: certificate and private key in one PEM.
    registeredFile = path.join(folder, 'collector.pem');
    strangerFile = path.join(folder, 'stranger.pem');
    writeFileSync(registeredFile, `${registered.cert}\n${registered.private}`);
    writeFileSync(strangerFile, `${stranger.cert}\n${stranger.private}`);

    const dataset = sampleDataset({ now: NOW, days: 3 });
    // The collector app authenticates with its certificate only: no secret is accepted.
    dataset.clients = [{ clientId: SAMPLE_COLLECTOR_CLIENT_ID, certificatePem: registered.cert }];
    // Graph lists the certificate as a keyCredential whose customKeyIdentifier is the
    // SHA-1 thumbprint, base64 (what doctor's expiry check reads).
    const thumbprint = createHash('sha1').update(new X509Certificate(registered.cert).raw).digest('base64');
    const collectorApp = dataset.applications.find((a) => a['appId'] === SAMPLE_COLLECTOR_CLIENT_ID)!;
    collectorApp['passwordCredentials'] = [];
    collectorApp['keyCredentials'] = [
      {
        keyId: 'c3d5e7f9-0000-4000-8000-000000000001',
        displayName: 'CN=accesstrail collector',
        type: 'AsymmetricX509Cert',
        usage: 'Verify',
        customKeyIdentifier: thumbprint,
        startDateTime: new Date(NOW.getTime() - 10 * DAY).toISOString(),
        endDateTime: new Date(NOW.getTime() + 90 * DAY).toISOString(),
      },
    ];
    emulator = await startEntraEmulator({ dataset });
    store = await openTestStore('postgres');
  });

  afterAll(async () => {
    await emulator?.close();
    await store?.dispose();
    rmSync(folder, { recursive: true, force: true });
  });

  const config = (certificatePath: string) =>
    parseConfig({
      AZURE_TENANT_ID: emulator.tenantId,
      AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
      // Empty means unset: the certificate is the credential.
      AZURE_CLIENT_SECRET: '',
      AZURE_CLIENT_CERTIFICATE_PATH: certificatePath,
      AZURE_AUTHORITY_HOST: emulator.authorityHost,
      GRAPH_BASE_URL: emulator.graphBaseUrl,
      ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
      ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
      DATABASE_URL: store.url,
    });

  async function collect(certificatePath: string) {
    const collection = createCollectionRepository(store.db);
    const runId = await collection.startRun('collect', {});
    const context: CollectContext = {
      store,
      evidence: createEvidenceRepository(store.db),
      collection,
      config: config(certificatePath),
      logger: createLogger({ level: 'silent' }),
      runId,
      progress: silentProgress,
      now: () => NOW,
    };
    return collectEntra(context, {
      since: new Date(NOW.getTime() - 4 * DAY),
      entra: {
        tlsCa: emulator.caCertificatePem,
        reportingLimit: null,
        retry: { baseDelayMs: 5, maxDelayMs: 50, maxElapsedMs: 2_000, maxAttempts: 2 },
        requestTimeoutMs: 5_000,
      },
    });
  }

  it('collects with the registered certificate', async () => {
    const before = emulator.stats.tokenRequests;
    const summary = await collect(registeredFile);
    const signIns = summary.streams.find((s) => s.stream === streams.entraSignIns);
    // Only the Metabase app's sign-ins are collected (the $filter on appId).
    const metabaseSignIns = emulator.dataset.signIns.filter((s) => s['appId'] === SAMPLE_METABASE_APP_ID);
    expect(metabaseSignIns.length).toBeGreaterThan(0);
    expect(signIns?.records).toBe(metabaseSignIns.length);
    expect(signIns?.coverage.length).toBeGreaterThan(0);
    expect(emulator.stats.tokenRequests).toBeGreaterThan(before);
    const { count } = await store.db
      .selectFrom('entra_sign_in')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow();
    expect(Number(count)).toBe(metabaseSignIns.length);
  });

  it('is refused with a certificate the app does not list, naming why and never the key', async () => {
    const failure = await collect(strangerFile).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    const text = `${(failure as Error).message} ${String((failure as { cause?: unknown }).cause ?? '')}`;
    expect(text).toMatch(/700027|certificate|assertion/i);
    expect(text).not.toContain(registeredKey.split('\n')[1]!);
  });

  it('doctor signs in with the certificate and reads its expiry by thumbprint', async () => {
    const checks: Check[] = await runDoctor(config(registeredFile), { tlsCa: emulator.caCertificatePem, now: NOW });
    const token = checks.find((c) => c.name === 'credential obtains a token')!;
    expect(token, JSON.stringify(token)).toMatchObject({ status: 'pass' });
    const expiry = checks.find((c) => c.name === 'credential expiry')!;
    expect(expiry.status).toBe('pass');
    expect(expiry.detail).toMatch(/certificate/);
    expect(expiry.detail).toMatch(/expires in (89|90) days/);

    const refused = await runDoctor(config(strangerFile), { tlsCa: emulator.caCertificatePem, now: NOW });
    const refusedToken = refused.find((c) => c.name === 'credential obtains a token')!;
    expect(refusedToken.status).toBe('fail');
    expect(refusedToken.detail).toMatch(/certificate assertion was refused/);
    expect(refusedToken.fix).toMatch(/Certificates & secrets/);
  });
});
