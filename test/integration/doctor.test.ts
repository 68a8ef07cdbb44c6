// `accesstrail doctor` against the Entra emulator (driven by the real @azure/identity and
// graph-client), real Postgres and MariaDB (Metabase application databases built from
// the emulator's schema, with read-only and writable users created here) and the
// Metabase API emulator: each check passing, and each failing the way a real
// configuration fails. Sources of the upstream behaviours are in docs/doctor.md.
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';

import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { parseConfig } from '../../src/config.js';
import { type Check, runDoctor, summarise } from '../../src/doctor/index.js';
import { doctorTenantDataset } from '../../src/emulators/entra/doctor-tenant.js';
import { type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import {
  SAMPLE_ADMIN_GROUP_ID,
  SAMPLE_COLLECTOR_CLIENT_ID,
  SAMPLE_COLLECTOR_SECRET,
  SAMPLE_METABASE_APP_ID,
} from '../../src/emulators/entra/sample.js';
import {
  createMetabaseAppDatabase,
  emptyDataset as emptyMetabaseDataset,
  type MetabaseApiEmulator,
  startMetabaseApiEmulator,
} from '../../src/emulators/metabase/index.js';
import { createTestDatabase, openTestStore, postgresAvailable, serverUrl, type TestDatabase, type TestStore } from '../support/database.js';
import { type AppDatabase, createAppDatabase, MARIADB_URL } from './metabase-helpers.js';

const NOW = new Date();
const METABASE_URL = 'https://metabase.contoso.example';
const API_KEY = 'mb_doctorTestKey0123456789abcdef';
const suffix = randomBytes(4).toString('hex');
const PG_RO = `doctor_ro_${suffix}`;
const PG_RW = `doctor_rw_${suffix}`;
const MY_PASSWORD = `pw-${randomBytes(6).toString('hex')}`;

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const byName = (checks: Check[], name: string): Check => {
  const found = checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check named "${name}" in: ${checks.map((c) => c.name).join(' | ')}`);
  return found;
};

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const withUser = (url: string, user: string, password?: string) => {
  const u = new URL(url);
  u.username = user;
  if (password) u.password = password;
  return u.toString();
};

describe.runIf(await postgresAvailable())('accesstrail doctor', () => {
  let emulator: EntraEmulator;
  let store: TestStore;
  let metabasePg: TestDatabase;
  let metabaseMy: AppDatabase;
  let mariaDbUp = true;
  let pgReadOnlyUrl: string;
  let pgWritableUrl: string;
  let myReadOnlyUrl: string;
  let myWritableUrl: string;

  const env = (overrides: Record<string, string | undefined> = {}) =>
    parseConfig(
      Object.fromEntries(
        Object.entries({
          DATABASE_URL: store.url,
          AZURE_TENANT_ID: emulator.tenantId,
          AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
          AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
          AZURE_AUTHORITY_HOST: emulator.authorityHost,
          GRAPH_BASE_URL: emulator.graphBaseUrl,
          ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
          ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
          METABASE_DB_URL: pgReadOnlyUrl,
          METABASE_URL: undefined,
          ...overrides,
        }).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
    );
  const doctor = (overrides: Record<string, string | undefined> = {}) =>
    runDoctor(env(overrides), { tlsCa: emulator.caCertificatePem, now: NOW });

  beforeAll(async () => {
    emulator = await startEntraEmulator({ dataset: doctorTenantDataset({ now: NOW, metabaseUrl: METABASE_URL }) });
    store = await openTestStore('postgres');

    // Metabase on Postgres, with its settings as Metabase stores them (setting: key, value).
    metabasePg = await createTestDatabase('mb_doctor');
    await createMetabaseAppDatabase({ url: metabasePg.url, version: 60, dataset: emptyMetabaseDataset() });
    const mb = new pg.Client({ connectionString: metabasePg.url });
    await mb.connect();
    // The emulator's schema has Metabase's setting table (key, value) since the retention work.
    await mb.query('create table if not exists setting (key varchar(254) primary key, value text not null)');
    await mb.query('insert into setting (key, value) values ($1, $2), ($3, $4)', [
      'site-url',
      METABASE_URL,
      'saml-identity-provider-issuer',
      `https://sts.windows.net/${emulator.tenantId}/`,
    ]);
    await mb.end();
    const database = new URL(metabasePg.url).pathname.slice(1);
    await admin(async (client) => {
      for (const role of [PG_RO, PG_RW]) await client.query(`create role ${role} login`);
      await client.query(`grant connect on database ${database} to ${PG_RO}, ${PG_RW}`);
    });
    const grants = new pg.Client({ connectionString: metabasePg.url });
    await grants.connect();
    await grants.query(`grant usage on schema public to ${PG_RO}, ${PG_RW}`);
    await grants.query(`grant select on all tables in schema public to ${PG_RO}`);
    await grants.query(`grant select, insert, update, delete on all tables in schema public to ${PG_RW}`);
    await grants.end();
    pgReadOnlyUrl = withUser(metabasePg.url, PG_RO);
    pgWritableUrl = withUser(metabasePg.url, PG_RW);

    // Metabase on MariaDB, with a SELECT-only user and one with write grants.
    metabaseMy = await createAppDatabase('mysql');
    try {
      await createMetabaseAppDatabase({ url: metabaseMy.url, version: 60, dataset: emptyMetabaseDataset() });
      const name = new URL(metabaseMy.url).pathname.slice(1);
      const root = await mysql.createConnection(MARIADB_URL);
      await root.query(`create user '${PG_RO}'@'%' identified by '${MY_PASSWORD}'`);
      await root.query(`create user '${PG_RW}'@'%' identified by '${MY_PASSWORD}'`);
      await root.query(`grant select on \`${name}\`.* to '${PG_RO}'@'%'`);
      await root.query(`grant select, insert, update, delete on \`${name}\`.* to '${PG_RW}'@'%'`);
      await root.end();
      myReadOnlyUrl = withUser(metabaseMy.url, PG_RO, MY_PASSWORD);
      myWritableUrl = withUser(metabaseMy.url, PG_RW, MY_PASSWORD);
    } catch {
      mariaDbUp = false;
    }
  }, 60_000);

  afterAll(async () => {
    await emulator?.close();
    await store?.dispose();
    await metabasePg?.drop();
    await admin(async (client) => {
      for (const role of [PG_RO, PG_RW]) await client.query(`drop role if exists ${role}`);
    }).catch(() => undefined);
    await metabaseMy?.drop().catch(() => undefined);
    const root = await mysql.createConnection(MARIADB_URL).catch(() => undefined);
    if (root) {
      for (const user of [PG_RO, PG_RW]) await root.query(`drop user if exists '${user}'@'%'`).catch(() => undefined);
      await root.end();
    }
  });

  beforeEach(() => {
    emulator.setFaults({});
    emulator.dataset = doctorTenantDataset({ now: NOW, metabaseUrl: METABASE_URL });
  });

  it('passes every required check on a correct configuration, and names what it found', async () => {
    const checks = await doctor();
    const failing = checks.filter((c) => c.status === 'fail');
    expect(failing).toEqual([]);
    expect(summarise(checks).ok).toBe(true);
    expect(byName(checks, 'credential obtains a token').detail).toContain(emulator.tenantId);
    expect(byName(checks, 'credential expiry')).toMatchObject({ status: 'pass' });
    expect(byName(checks, 'credential expiry').detail).toMatch(/expires in (199|200) days/);
    for (const name of [
      'Graph AuditLog.Read.All: sign-ins (v1.0)',
      'Graph AuditLog.Read.All: directory audits',
      'Graph User.Read.All: users',
      'Graph Application.Read.All: app registrations',
      'Graph Group.Read.All: groups',
    ]) {
      expect(byName(checks, name).status).toBe('pass');
    }
    expect(byName(checks, 'licence allows sign-in logs (Entra ID P1/P2)').status).toBe('pass');
    expect(byName(checks, 'licence allows risk fields (Entra ID P2)').status).toBe('pass');
    expect(byName(checks, `Metabase app ${SAMPLE_METABASE_APP_ID}: application of this tenant`).status).toBe('pass');
    expect(byName(checks, `Metabase app ${SAMPLE_METABASE_APP_ID}: sign-ins in the last 30 days`).status).toBe('pass');
    // METABASE_URL is unset: the address comes from Metabase's site-url setting.
    const redirect = byName(checks, `Metabase app ${SAMPLE_METABASE_APP_ID}: redirect URIs point at Metabase`);
    expect(redirect.status).toBe('pass');
    expect(redirect.detail).toContain('site-url');
    expect(byName(checks, `admin group ${SAMPLE_ADMIN_GROUP_ID}`)).toMatchObject({ status: 'pass' });
    expect(byName(checks, 'Metabase database reachable').status).toBe('pass');
    expect(byName(checks, 'Metabase database is read-only for accesstrail').status).toBe('pass');
    expect(byName(checks, 'Metabase version and edition').detail).toMatch(/^v60 \(Liquibase changelog\), no licence token/);
    expect(byName(checks, 'Metabase SSO names this tenant').status).toBe('pass');
    expect(byName(checks, 'store reachable').status).toBe('pass');
    expect(byName(checks, 'store migrated').detail).toMatch(/all \d+ migrations applied/);
    expect(byName(checks, 'store notifications (LISTEN/NOTIFY)').status).toBe('pass');
    expect(byName(checks, "correlation's connections")).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/slices|one connection/),
    });
    expect(JSON.stringify(checks)).not.toContain(SAMPLE_COLLECTOR_SECRET);
  }, 60_000);

  it('fails the token check for a tenant that does not exist', async () => {
    const checks = await doctor({ AZURE_TENANT_ID: randomUUID() });
    const token = byName(checks, 'credential obtains a token');
    expect(token.status).toBe('fail');
    expect(token.detail).toMatch(/does not exist: AADSTS90002/);
    expect(token.fix).toMatch(/AZURE_TENANT_ID/);
    expect(summarise(checks).ok).toBe(false);
    // Nothing else of Entra passes without a token.
    expect(checks.filter((c) => c.area === 'entra' && c.status === 'pass')).toEqual([]);
  }, 60_000);

  it('fails the token check when the app is registered in another tenant (tenant mismatch)', async () => {
    const checks = await doctor({ AZURE_CLIENT_ID: randomUUID() });
    const token = byName(checks, 'credential obtains a token');
    expect(token.status).toBe('fail');
    expect(token.detail).toMatch(/tenant mismatch.*AADSTS700016/);
  }, 60_000);

  it('fails the token check for a wrong secret without printing it', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    const checks = await doctor({ AZURE_CLIENT_SECRET: wrong });
    const token = byName(checks, 'credential obtains a token');
    expect(token.status).toBe('fail');
    expect(token.detail).toMatch(/AADSTS7000215/);
    expect(JSON.stringify(checks)).not.toContain(wrong);
  }, 60_000);

  it('fails on an expired secret (AADSTS7000222) and warns on one about to expire', async () => {
    emulator.dataset = doctorTenantDataset({
      now: NOW,
      metabaseUrl: METABASE_URL,
      secretEndDateTime: new Date(NOW.getTime() - 86_400_000),
    });
    const expired = await doctor();
    const token = byName(expired, 'credential obtains a token');
    expect(token.status).toBe('fail');
    expect(token.detail).toMatch(/expired: AADSTS7000222/);
    expect(token.fix).toMatch(/new client secret/);

    emulator.dataset = doctorTenantDataset({
      now: NOW,
      metabaseUrl: METABASE_URL,
      secretEndDateTime: new Date(NOW.getTime() + 10 * 86_400_000 + 3_600_000),
    });
    const soon = await doctor();
    const expiry = byName(soon, 'credential expiry');
    expect(expiry.status).toBe('warn');
    expect(expiry.detail).toMatch(/the secret "accesstrail" \(key [0-9a-f-]+\) in use expires in 10 days/);
    expect(expiry.detail).not.toContain(SAMPLE_COLLECTOR_SECRET.slice(0, 3));
    expect(summarise(soon).ok).toBe(true);
  }, 60_000);

  it('fails the one permission Graph denies and keeps the others', async () => {
    emulator.setFaults({ forbidden: ['auditLogs/directoryAudits'] });
    const checks = await doctor();
    const audits = byName(checks, 'Graph AuditLog.Read.All: directory audits');
    expect(audits.status).toBe('fail');
    expect(audits.detail).toContain('denied (403)');
    expect(audits.fix).toMatch(/AuditLog\.Read\.All.*admin consent/);
    expect(byName(checks, 'Graph AuditLog.Read.All: sign-ins (v1.0)').status).toBe('pass');
    expect(byName(checks, 'Graph User.Read.All: users').status).toBe('pass');
    expect(checks.filter((c) => c.status === 'fail')).toHaveLength(1);
  }, 60_000);

  it('fails the admin group check when its members cannot be read (GroupMember.Read.All)', async () => {
    emulator.setFaults({ forbidden: [`groups/${SAMPLE_ADMIN_GROUP_ID}/transitiveMembers`] });
    const checks = await doctor();
    const group = byName(checks, `admin group ${SAMPLE_ADMIN_GROUP_ID}`);
    expect(group.status).toBe('fail');
    expect(group.detail).toMatch(/"Metabase Admins" exists, but its members cannot be read: Graph denied it \(403/);
    expect(group.fix).toContain('GroupMember.Read.All');
    expect(byName(checks, 'Graph Group.Read.All: groups').status).toBe('pass');
  }, 60_000);

  it('warns (not fails) when an optional permission is missing: leave dates', async () => {
    emulator.setFaults({ refuseLeaveDates: true });
    const checks = await doctor();
    expect(byName(checks, "Graph User-LifeCycleInfo.Read.All: users' leave dates").status).toBe('warn');
    expect(summarise(checks).ok).toBe(true);
  }, 60_000);

  it('fails the licence check on a tenant without Entra ID P1/P2 (the real 403)', async () => {
    emulator.setFaults({ licence: true });
    const checks = await doctor();
    const licence = byName(checks, 'licence allows sign-in logs (Entra ID P1/P2)');
    expect(licence.status).toBe('fail');
    expect(licence.detail).toContain('Authentication_RequestFromNonPremiumTenantOrB2CTenant');
    // The permission is not judged through a licence refusal, nor are the app's sign-ins.
    expect(byName(checks, 'Graph AuditLog.Read.All: sign-ins (v1.0)').status).toBe('skip');
    expect(byName(checks, `Metabase app ${SAMPLE_METABASE_APP_ID}: sign-ins in the last 30 days`).status).toBe('skip');
    expect(byName(checks, 'Graph AuditLog.Read.All: directory audits').status).toBe('pass');
  }, 60_000);

  it('warns when risk fields are hidden (no P2), without failing', async () => {
    emulator.setFaults({ hideRisk: true });
    const checks = await doctor();
    const risk = byName(checks, 'licence allows risk fields (Entra ID P2)');
    expect(risk.status).toBe('warn');
    expect(risk.detail).toMatch(/"hidden".*risky-sign-in is not evaluable/);
    expect(summarise(checks).ok).toBe(true);
  }, 60_000);

  it("fails on a stale redirect URI and accepts Metabase's OIDC callback", async () => {
    emulator.dataset = doctorTenantDataset({
      now: NOW,
      metabaseUrl: METABASE_URL,
      redirectUris: ['https://old-bi.contoso.example/auth/sso'],
    });
    const stale = await doctor();
    const redirect = byName(stale, `Metabase app ${SAMPLE_METABASE_APP_ID}: redirect URIs point at Metabase`);
    expect(redirect.status).toBe('fail');
    expect(redirect.detail).toContain('stale redirect URI');
    expect(redirect.fix).toContain(`${METABASE_URL}/auth/sso`);

    emulator.dataset = doctorTenantDataset({
      now: NOW,
      metabaseUrl: METABASE_URL,
      redirectUris: [`${METABASE_URL}/auth/sso/entra/callback`],
    });
    const oidc = await doctor({ METABASE_URL, METABASE_DB_URL: pgReadOnlyUrl });
    expect(byName(oidc, `Metabase app ${SAMPLE_METABASE_APP_ID}: redirect URIs point at Metabase`).status).toBe('pass');
  }, 60_000);

  it('fails an app id that is not in the tenant, an app nobody signed in to, and a missing admin group', async () => {
    const unknownApp = randomUUID();
    const unknownGroup = randomUUID();
    const checks = await doctor({ ENTRA_METABASE_APP_IDS: `${SAMPLE_METABASE_APP_ID},${unknownApp}`, ENTRA_ADMIN_GROUP_IDS: unknownGroup });
    expect(byName(checks, `Metabase app ${unknownApp}: application of this tenant`)).toMatchObject({ status: 'fail' });
    expect(byName(checks, `admin group ${unknownGroup}`)).toMatchObject({ status: 'fail' });

    emulator.dataset = doctorTenantDataset({ now: NOW, metabaseUrl: METABASE_URL, signIns: 0 });
    const quiet = await doctor();
    expect(byName(quiet, `Metabase app ${SAMPLE_METABASE_APP_ID}: sign-ins in the last 30 days`).status).toBe('fail');
  }, 60_000);

  it('fails a Metabase database connection that does not answer', async () => {
    const port = await closedPort();
    const checks = await doctor({ METABASE_DB_URL: `postgres://${PG_RO}@127.0.0.1:${port}/metabase` });
    const reachable = byName(checks, 'Metabase database reachable');
    expect(reachable.status).toBe('fail');
    expect(reachable.detail).toMatch(/cannot reach.*ECONNREFUSED/);
    expect(byName(checks, 'Metabase database is read-only for accesstrail').status).toBe('skip');

    // An outage behind a loopback proxy we control: connections accepted, then cut.
    const proxy = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    try {
      const cut = await doctor({ METABASE_DB_URL: `postgres://${PG_RO}@127.0.0.1:${(proxy.address() as AddressInfo).port}/metabase` });
      expect(byName(cut, 'Metabase database reachable')).toMatchObject({ status: 'fail' });
      expect(byName(cut, 'Metabase database reachable').detail).toMatch(/cannot reach/);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  }, 60_000);

  it('fails a writable Postgres connection (role with write grants, and the superuser) and passes the SELECT-only role', async () => {
    for (const url of [pgWritableUrl, metabasePg.url]) {
      const checks = await doctor({ METABASE_DB_URL: url });
      const readOnly = byName(checks, 'Metabase database is read-only for accesstrail');
      expect(readOnly.status).toBe('fail');
      expect(readOnly.detail).toMatch(/UPDATE, DELETE, INSERT on core_user accepted/);
    }
    // The probes touched nothing: core_user is as it was.
    const client = new pg.Client({ connectionString: metabasePg.url });
    await client.connect();
    expect((await client.query('select count(*)::int as n from core_user')).rows[0].n).toBe(0);
    await client.end();
  }, 60_000);

  it('tells a read-only from a writable MariaDB user', async (context) => {
    if (!mariaDbUp) context.skip();
    const readOnly = await doctor({ METABASE_DB_URL: myReadOnlyUrl });
    expect(byName(readOnly, 'Metabase database reachable').detail).toContain('MySQL/MariaDB');
    expect(byName(readOnly, 'Metabase database is read-only for accesstrail').status).toBe('pass');
    expect(byName(readOnly, 'Metabase version and edition').detail).toMatch(/^v60 /);
    const writable = await doctor({ METABASE_DB_URL: myWritableUrl });
    expect(byName(writable, 'Metabase database is read-only for accesstrail').status).toBe('fail');
    expect(JSON.stringify([readOnly, writable])).not.toContain(MY_PASSWORD);
  }, 60_000);

  it('fails a Metabase SSO issuer of another tenant', async () => {
    const client = new pg.Client({ connectionString: metabasePg.url });
    await client.connect();
    const other = randomUUID();
    await client.query("update setting set value = $1 where key = 'saml-identity-provider-issuer'", [`https://sts.windows.net/${other}/`]);
    try {
      const checks = await doctor();
      const sso = byName(checks, 'Metabase SSO names this tenant');
      expect(sso.status).toBe('fail');
      expect(sso.detail).toContain(other);
    } finally {
      await client.query("update setting set value = $1 where key = 'saml-identity-provider-issuer'", [
        `https://sts.windows.net/${emulator.tenantId}/`,
      ]);
      await client.end();
    }
  }, 60_000);

  it('checks the Metabase API key when METABASE_URL is set', async () => {
    const api: MetabaseApiEmulator = await startMetabaseApiEmulator({
      dataset: emptyMetabaseDataset(),
      apiKey: API_KEY,
      edition: 'enterprise',
      version: 60,
    });
    try {
      const good = await doctor({ METABASE_URL: api.url, METABASE_API_KEY: API_KEY });
      expect(byName(good, 'Metabase API key answers')).toMatchObject({ status: 'pass' });
      const bad = await doctor({ METABASE_URL: api.url, METABASE_API_KEY: 'mb_wrong_key_value' });
      const check = byName(bad, 'Metabase API key answers');
      expect(check.status).toBe('fail');
      expect(check.detail).toContain('401');
      expect(JSON.stringify([good, bad])).not.toContain(API_KEY);
    } finally {
      await api.close();
    }
  }, 60_000);

  it('fails an unmigrated store without migrating it, and an unreachable one', async () => {
    const fresh = await createTestDatabase('doctor_store');
    try {
      const checks = await doctor({ DATABASE_URL: fresh.url });
      expect(byName(checks, 'store reachable').status).toBe('pass');
      const migrated = byName(checks, 'store migrated');
      expect(migrated.status).toBe('fail');
      expect(migrated.fix).toContain('accesstrail migrate');
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      const { rows } = await client.query("select count(*)::int as n from information_schema.tables where table_schema = 'public'");
      await client.end();
      expect(rows[0].n).toBe(0);
    } finally {
      await fresh.drop();
    }
    const port = await closedPort();
    const down = await doctor({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/store` });
    expect(byName(down, 'store reachable').status).toBe('fail');
  }, 60_000);
});
