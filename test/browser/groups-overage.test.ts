// Console sign-in with roles mapped to Entra groups (no browser needed: the emulator's
// authorization endpoint is driven over HTTPS directly). A person whose groups fit in
// the token gets them in the `groups` claim; one in more groups than the app's limit
// gets Entra's overage pointer, and the console reads the memberships through Graph's
// checkMemberGroups with its own app credential. App roles win over nothing; nobody
// without a mapped group gets a role.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { httpsFetch } from '../../src/console/https-fetch.js';
import { consoleSettings, createEntraSignIn, type ConsoleSettings } from '../../src/console/sign-in.js';
import { emptyDataset, startEntraEmulator, type EntraEmulator } from '../../src/emulators/entra/index.js';

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
  const config = parseConfig({
    AZURE_TENANT_ID: TENANT,
    AZURE_AUTHORITY_HOST: entra.authorityHost,
    GRAPH_BASE_URL: entra.graphBaseUrl,
    ACCESSTRAIL_CONSOLE_CLIENT_ID: CLIENT.clientId,
    ACCESSTRAIL_CONSOLE_CLIENT_SECRET: CLIENT.secret,
    ACCESSTRAIL_PUBLIC_URL: PUBLIC_URL,
    ACCESSTRAIL_CONSOLE_VIEWER_ROLES: VIEWER_GROUP,
    ACCESSTRAIL_CONSOLE_ADMIN_ROLES: `Console.Admin,${ADMIN_GROUP}`,
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
  const response = await httpsFetch(entra.caCertificatePem)(`${url.origin}${url.pathname}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
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
    const response = await httpsFetch(entra.caCertificatePem)(`${url.origin}${url.pathname}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    await expect(signIn.finish(new URL(response.headers.get('location')!), { ...pending, codeVerifier: 'x'.repeat(43) })).rejects.toThrow(/Code_Verifier|invalid_grant/);
  });

  it('refuses a callback whose state is not the one sent', async () => {
    const { url, pending } = await signIn.begin('/');
    const form = new URLSearchParams(url.searchParams);
    form.set('login_hint_id', people.few);
    const response = await httpsFetch(entra.caCertificatePem)(`${url.origin}${url.pathname}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    await expect(signIn.finish(new URL(response.headers.get('location')!), { ...pending, state: 'another-state' })).rejects.toThrow(/state/);
  });
});
