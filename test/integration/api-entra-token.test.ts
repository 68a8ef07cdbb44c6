// Entra-issued access tokens on the API, against the Entra emulator's real JWKS over
// HTTPS: a GRC tool's own app registration gets a token with the client-credentials
// grant (scope <application id URI>/.default) and its app roles become API scopes.
// Every check a token must pass is broken once: audience, issuer, expiry, not-before,
// signature (none, unknown key, same kid with another key, HMAC with the public key).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiKeyRepository } from '../../src/api/api-keys.js';
import { type ApiApp, buildApp } from '../../src/api/app.js';
import { httpsFetch } from '../../src/api/https-fetch.js';
import { parseConfig } from '../../src/config.js';
import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import { createLogger } from '../../src/logger.js';
import { openTestStore, type TestStore } from '../support/database.js';

const TENANT = '11111111-2222-4333-8444-555555555555';
const APP_ID_URI = 'api://accesstrail-test';
const API_CLIENT_ID = '22222222-0000-4000-8000-000000000001';
const GRC = { clientId: '33333333-0000-4000-8000-000000000001', secret: 'grc-secret' };
const NO_ROLE_CLIENT = { clientId: '33333333-0000-4000-8000-000000000002', secret: 'other-secret' };

let entra: EntraEmulator;
let store: TestStore;
let app: ApiApp;
let dataDir: string;
const logs: string[] = [];

async function clientToken(client: { clientId: string; secret: string }, scope = `${APP_ID_URI}/.default`): Promise<string> {
  const response = await httpsFetch(entra.caCertificatePem)(`${entra.authorityHost}/${TENANT}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.clientId,
      client_secret: client.secret,
      scope,
    }).toString(),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function get(token: string, url = '/v1/reports') {
  return app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
}

const issuer = () => `${entra.authorityHost}/${TENANT}/v2.0`;

beforeAll(async () => {
  entra = await startEntraEmulator({ tenantId: TENANT });
  entra.dataset.clients.push(GRC, NO_ROLE_CLIENT);
  entra.oidc.registerApplication({ clientId: API_CLIENT_ID, identifierUri: APP_ID_URI, clientRoles: { [GRC.clientId]: ['Reports.Read'] } });
  store = await openTestStore('postgres');
  dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-entra-token-'));
  const config = parseConfig(
    {
      ACCESSTRAIL_DATA_DIR: dataDir,
      AZURE_TENANT_ID: TENANT,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
      ACCESSTRAIL_API_AUDIENCE: APP_ID_URI,
    },
    dataDir,
  );
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      logs.push(chunk.toString('utf8'));
      callback();
    },
  });
  app = await buildApp({
    store,
    config,
    logger: createLogger({ level: 'trace', destination, format: 'json' }),
    tlsCa: entra.caCertificatePem,
  });
});

afterAll(async () => {
  await app?.close();
  await store?.dispose();
  await entra?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Entra access tokens on the API', () => {
  it('accepts a token from the tenant with the app role the route needs', async () => {
    const token = await clientToken(GRC);
    const response = await get(token);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ items: [], nextCursor: null });
    // The token never reaches the log.
    expect(logs.join('')).not.toContain(token);
  });

  it('answers 403 when the token lacks the role (Reports.Read does not grant findings:read)', async () => {
    const response = await get(await clientToken(GRC), '/v1/findings');
    expect(response.statusCode).toBe(403);
    expect(response.json().error.message).toContain('findings:read');
    const noRole = await get(await clientToken(NO_ROLE_CLIENT));
    expect(noRole.statusCode).toBe(403);
  });

  it('refuses a token for another audience', async () => {
    const token = await entra.oidc.mintToken({ iss: issuer(), aud: 'api://someone-else', roles: ['Reports.Read'], azp: GRC.clientId });
    const response = await get(token);
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json().error.message).toContain('aud');
  });

  it('refuses a token from another issuer (another tenant)', async () => {
    const token = await entra.oidc.mintToken({
      iss: `${entra.authorityHost}/99999999-2222-4333-8444-555555555555/v2.0`,
      aud: APP_ID_URI,
      roles: ['Reports.Read'],
    });
    const response = await get(token);
    expect(response.statusCode).toBe(401);
    expect(response.json().error.message).toContain('iss');
  });

  it('refuses an expired token and one not valid yet', async () => {
    const expired = await entra.oidc.mintToken({ iss: issuer(), aud: APP_ID_URI, roles: ['Reports.Read'] }, { expiresIn: -3600 });
    expect((await get(expired)).statusCode).toBe(401);
    expect((await get(expired)).json().error.message).toContain('expired');
    const early = await entra.oidc.mintToken(
      { iss: issuer(), aud: APP_ID_URI, roles: ['Reports.Read'] },
      { notBefore: new Date(Date.now() + 3_600_000), expiresIn: 7200 },
    );
    expect((await get(early)).statusCode).toBe(401);
  });

  it('refuses an unsigned token (alg none)', async () => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${part({ alg: 'none', typ: 'JWT' })}.${part({ iss: issuer(), aud: APP_ID_URI, roles: ['Admin'], iat: now, nbf: now, exp: now + 600 })}.`;
    expect((await get(unsigned)).statusCode).toBe(401);
  });

  it("refuses tokens signed by a key that is not the tenant's", async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const claims = { iss: issuer(), aud: APP_ID_URI, roles: ['Reports.Read'] };
    const unknownKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'not-a-tenant-key' })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    expect((await get(unknownKid)).statusCode).toBe(401);
    // The tenant key's id on a token signed with another key.
    const sameKid = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: entra.oidc.keyId })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    expect((await get(sameKid)).statusCode).toBe(401);
    // HMAC keyed with public material (the classic alg confusion) is refused as well.
    const jwk = await exportJWK(publicKey);
    const hmac = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: entra.oidc.keyId })
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(JSON.stringify(jwk)));
    expect((await get(hmac)).statusCode).toBe(401);
  });

  it('still accepts API keys beside Entra tokens', async () => {
    const { key } = await createApiKeyRepository(store.db).create({ name: 'grc', scopes: ['reports:read'] });
    expect((await get(key)).statusCode).toBe(200);
    expect((await get('at_notakeyatallnotakeyatallnotakeyatall')).statusCode).toBe(401);
  });
});
