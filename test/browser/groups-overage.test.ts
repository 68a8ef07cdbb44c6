// Console sign-in with roles mapped to Entra groups (no browser needed: the emulator's
// authorization endpoint is driven over HTTPS directly). A person whose groups fit in
// the token gets them in the `groups` claim; one in more groups than the app's limit
// gets Entra's overage pointer, and the console reads the memberships through Graph's
// checkMemberGroups with its own app credential. App roles win over nothing; nobody
// without a mapped group gets a role.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { httpsFetch } from '../../src/api/https-fetch.js';
import { type Config, parseConfig } from '../../src/config.js';
import { type ConsoleSettings, consoleSettings, createEntraSignIn } from '../../src/console/sign-in.js';
import { buildWebApp as buildApp } from '../../src/console/web-app.js';
import { emptyDataset, type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import { createLogger } from '../../src/logger.js';
import { openTestStore } from '../support/database.js';

const TENANT = '44444444-2222-4333-8444-555555555555';
const CLIENT = { clientId: '55555555-0000-4000-8000-000000000001', secret: 'console-secret' };
const PUBLIC_URL = 'https://console.example';
const group = (n: number) => `66666666-0000-4000-8000-${String(n).padStart(12, '0')}`;
const ADMIN_GROUP = group(7);
const VIEWER_GROUP = group(1);
const people = {
  many: '77777777-0000-4000-8000-000000000001', // in 9 groups (over the limit of 4), one of them the admin group
  few: '77777777-0000-4000-8000-000000000002', // in 2 groups, one the viewer group
  none: '77777777-0000-4000-8000-000000000003', // in 6 unmapped groups (overage, nothing mapped)
};

let entra: EntraEmulator;
let config: Config;
let settings: ConsoleSettings;
let signIn: ReturnType<typeof createEntraSignIn>;
const graphCalls: string[] = [];

beforeAll(async () => {
  const dataset = emptyDataset();
  dataset.users.push(
    { id: people.many, displayName: 'Many Groups', userPrincipalName: 'many@example.test', accountEnabled: true },
    { id: people.few, displayName: 'Few Groups', userPrincipalName: 'few@example.test', accountEnabled: true },
    { id: people.none, displayName: 'No Mapped Group', userPrincipalName: 'none@example.test', accountEnabled: true },
  );
  for (let n = 1; n <= 20; n++) {
    const members = [];
    if (n <= 9) members.push(people.many);
    if (n === 1 || n === 15) members.push(people.few);
    if (n >= 10 && n <= 15) members.push(people.none);
    dataset.groups.push({ id: group(n), displayName: `group ${n}`, members });
  }
  dataset.clients.push(CLIENT);
  entra = await startEntraEmulator({ tenantId: TENANT, dataset });
  entra.oidc.registerApplication({ ...CLIENT, redirectUris: [`${PUBLIC_URL}/auth/callback`], groupsClaim: { max: 4 } });
  config = parseConfig({
    AZURE_TENANT_ID: TENANT,
    AZURE_AUTHORITY_HOST: entra.authorityHost,
    GRAPH_BASE_URL: entra.graphBaseUrl,
    ACCESSTRAIL_UI_CLIENT_ID: CLIENT.clientId,
    ACCESSTRAIL_UI_CLIENT_SECRET: CLIENT.secret,
    ACCESSTRAIL_PUBLIC_URL: PUBLIC_URL,
    ACCESSTRAIL_UI_ROLES: `viewer=${VIEWER_GROUP},reviewer=Console.Reviewer,admin=Console.Admin,admin=${ADMIN_GROUP}`,
  });
  const resolved = consoleSettings(config);
  if ('off' in resolved) throw new Error(resolved.off);
  settings = resolved;
  signIn = createEntraSignIn(config, settings, { tlsCa: entra.caCertificatePem });
  entra.onRequest = (request) => graphCalls.push(request.path);
});

afterAll(async () => {
  await entra?.close();
});

/** The browser's part: the emulator's sign-in form, posted as `userId`. */
async function signInAs(userId: string) {
  const { url, pending } = await signIn.begin('/');
  const form = new URLSearchParams(url.searchParams);
  form.set('login_hint_id', userId);
  const response = await httpsFetch(entra.caCertificatePem)(`${url.origin}${url.pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  expect(response.status).toBe(302);
  return signIn.finish(new URL(response.headers.get('location')!), pending);
}

describe('console roles from Entra groups', () => {
  it('reads the groups from the token when they fit', async () => {
    const person = await signInAs(people.few);
    expect(person.groupsFrom).toBe('token');
    expect(person.groupCount).toBe(2);
    expect(person.role).toBe('viewer');
    expect(person.username).toBe('few@example.test');
  });

  it('reads the memberships through Graph when the token carries the overage pointer', async () => {
    const person = await signInAs(people.many);
    expect(person.groupsFrom).toBe('graph');
    // Only the mapped groups are asked about; the admin one is among the person's 9.
    expect(person.groupCount).toBe(2);
    expect(person.role).toBe('admin');
    expect(person.subject).toBe(people.many);
  });

  it('gives no role to someone in many groups none of which is mapped', async () => {
    const person = await signInAs(people.none);
    expect(person.groupsFrom).toBe('graph');
    expect(person.groupCount).toBe(0);
    expect(person.role).toBeUndefined();
  });

  it('refuses a code redeemed with the wrong PKCE verifier', async () => {
    const { url, pending } = await signIn.begin('/');
    const form = new URLSearchParams(url.searchParams);
    form.set('login_hint_id', people.few);
    const response = await httpsFetch(entra.caCertificatePem)(`${url.origin}${url.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    await expect(signIn.finish(new URL(response.headers.get('location')!), { ...pending, codeVerifier: 'x'.repeat(43) })).rejects.toThrow(
      /Code_Verifier|invalid_grant/,
    );
  });

  it('refuses a callback whose state is not the one sent', async () => {
    const { url, pending } = await signIn.begin('/');
    const form = new URLSearchParams(url.searchParams);
    form.set('login_hint_id', people.few);
    const response = await httpsFetch(entra.caCertificatePem)(`${url.origin}${url.pathname}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    await expect(signIn.finish(new URL(response.headers.get('location')!), { ...pending, state: 'another-state' })).rejects.toThrow(
      /state/,
    );
  });
});

describe('the console behind https', () => {
  it('uses __Host- Secure cookies, HSTS and a PKCE authorization request', async () => {
    const store = await openTestStore('postgres');
    const app = await buildApp({ store, config, logger: createLogger({ level: 'silent' }), tlsCa: entra.caCertificatePem });
    try {
      const response = await app.inject({ method: 'GET', url: '/auth/login?returnTo=/findings' });
      expect(response.statusCode).toBe(303);
      const location = new URL(response.headers.location as string);
      expect(`${location.origin}${location.pathname}`).toBe(`${entra.authorityHost}/${TENANT}/oauth2/v2.0/authorize`);
      expect(location.searchParams.get('code_challenge_method')).toBe('S256');
      expect(location.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/auth/callback`);
      expect(location.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
      const cookie = String(response.headers['set-cookie']);
      expect(cookie).toMatch(/^__Host-accesstrail-signin=[\w-]{43};/);
      expect(cookie).toContain('Secure');
      expect(cookie).toContain('HttpOnly');
      expect(cookie).toContain('SameSite=Lax');
      expect(response.headers['strict-transport-security']).toContain('max-age=');
      // Without a session: to sign-in, never an open redirect elsewhere.
      const page = await app.inject({ method: 'GET', url: '/coverage' });
      expect(page.headers.location).toBe('/sign-in?returnTo=%2Fcoverage');
      const sneaky = await app.inject({ method: 'GET', url: '/auth/login?returnTo=//evil.example/' });
      expect(sneaky.statusCode).toBe(303);
      const row = await store.db
        .withTables<{ console_sign_in: { return_to: string } }>()
        .selectFrom('console_sign_in')
        .select('return_to')
        .execute();
      expect(row.map((r) => r.return_to).sort()).toEqual(['/', '/findings']);
    } finally {
      await app.close();
      await store.dispose();
    }
  });

  it('says which settings are missing when the console is off', async () => {
    const store = await openTestStore('postgres');
    const app = await buildApp({ store, config: parseConfig({ AZURE_TENANT_ID: TENANT }), logger: createLogger({ level: 'silent' }) });
    try {
      const response = await app.inject({ method: 'GET', url: '/' });
      expect(response.statusCode).toBe(200);
      expect(response.body).toContain('ACCESSTRAIL_UI_CLIENT_ID');
      expect(response.body).toContain('ACCESSTRAIL_UI_CLIENT_SECRET or ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH');
      // The public URL defaults to where serve listens; the tenant is set.
      expect(response.body).not.toContain('ACCESSTRAIL_PUBLIC_URL');
      expect(response.body).not.toContain('AZURE_TENANT_ID,');
    } finally {
      await app.close();
      await store.dispose();
    }
  });
});

describe('console sign-in with a certificate credential', () => {
  it('authenticates with private_key_jwt, and a certificate Entra does not know is refused', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'accesstrail-console-cert-'));
    try {
      const registered = await generate([{ name: 'commonName', value: 'accesstrail console' }], { keySize: 2048 });
      const stranger = await generate([{ name: 'commonName', value: 'someone else' }], { keySize: 2048 });
      const certClient = { clientId: '55555555-0000-4000-8000-000000000009' };
      entra.oidc.registerApplication({
        ...certClient,
        certificatePem: registered.cert,
        redirectUris: [`${PUBLIC_URL}/auth/callback`],
        userRoles: { [people.few]: ['Console.Admin'] },
      });
      const attempt = async (pem: { cert: string; private: string }, name: string) => {
        const file = path.join(folder, name);
        writeFileSync(file, `${pem.cert}\n${pem.private}`);
        const certConfig = parseConfig({
          AZURE_TENANT_ID: TENANT,
          AZURE_AUTHORITY_HOST: entra.authorityHost,
          ACCESSTRAIL_UI_CLIENT_ID: certClient.clientId,
          ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH: file,
          ACCESSTRAIL_PUBLIC_URL: PUBLIC_URL,
        });
        const certSettings = consoleSettings(certConfig) as ConsoleSettings;
        const client = createEntraSignIn(certConfig, certSettings, { tlsCa: entra.caCertificatePem });
        const { url, pending } = await client.begin('/');
        const form = new URLSearchParams(url.searchParams);
        form.set('login_hint_id', people.few);
        const response = await httpsFetch(entra.caCertificatePem)(`${url.origin}${url.pathname}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: form.toString(),
        });
        return client.finish(new URL(response.headers.get('location')!), pending);
      };
      const person = await attempt(registered, 'console.pem');
      expect(person.role).toBe('admin');
      await expect(attempt(stranger, 'stranger.pem')).rejects.toThrow(/invalid_client/);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
