// The doctor's pure check functions on the inputs the emulator scenarios do not reach:
// redirect-URI shapes, certificate thumbprints, token tenants, tampered migrations,
// Metabase SSO settings and write-probe outcomes.
import { createHash, X509Certificate } from 'node:crypto';

import { generate } from 'selfsigned';
import { describe, expect, it } from 'vitest';

import { RequestFailure } from '../../src/collectors/entra/requester.js';
import { parseConfig } from '../../src/config.js';
import { isMetabaseCallback, normaliseBase, recentSignInCheck, redirectCheck } from '../../src/doctor/entra-apps.js';
import { expiryCheck, tokenCheck, tokenTenantId } from '../../src/doctor/entra-credential.js';
import { endpointProbes, licenceCheck, permissionCheck, riskCheck } from '../../src/doctor/entra-permissions.js';
import { editionDetail, plainSiteUrl, readOnlyCheck, ssoTenantCheck } from '../../src/doctor/metabase.js';
import { renderText, scrub, secretValues } from '../../src/doctor/render.js';
import { migrationCheck } from '../../src/doctor/store.js';
import { AppError } from '../../src/errors.js';
import { readMigrationFiles } from '../../src/store/migrate.js';

const TENANT = '11111111-2222-4333-8444-555555555555';
const NOW = new Date('2026-12-01T12:00:00Z');
const jwt = (claims: object) =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('redirect URIs', () => {
  const metabase = (address: string | null) => ({ address, source: 'METABASE_URL' });

  it('accepts the SAML and OIDC callbacks, case and trailing slashes aside, under a path prefix', () => {
    const base = normaliseBase('https://BI.Contoso.example/metabase/')!;
    expect(base).toBe('https://bi.contoso.example/metabase');
    expect(isMetabaseCallback('https://bi.contoso.example/metabase/auth/sso', base)).toBe(true);
    expect(isMetabaseCallback('https://bi.contoso.example/metabase/auth/sso/', base)).toBe(true);
    expect(isMetabaseCallback('https://bi.contoso.example/metabase/auth/sso/entra-id/callback', base)).toBe(true);
    expect(isMetabaseCallback('https://bi.contoso.example/auth/sso', base)).toBe(false);
    expect(isMetabaseCallback('http://bi.contoso.example/metabase/auth/sso', base)).toBe(false);
    expect(isMetabaseCallback('https://bi.contoso.example/metabase/auth/login', base)).toBe(false);
  });

  it('fails stale URIs, fails an app without any, and cannot judge without a Metabase address', () => {
    expect(redirectCheck('app', ['https://old.example/auth/sso'], metabase('https://new.example')).status).toBe('fail');
    expect(redirectCheck('app', [], metabase('https://new.example')).detail).toContain('no redirect URIs');
    const unknown = redirectCheck('app', ['https://new.example/auth/sso'], { address: null, source: 'METABASE_URL is not set' });
    expect(unknown.status).toBe('warn');
    expect(unknown.ok).toBe(false);
    const mixed = redirectCheck('app', ['https://old.example/auth/sso', 'https://new.example/auth/sso'], metabase('https://new.example'));
    expect(mixed.status).toBe('pass');
    expect(mixed.detail).toContain('also registered: https://old.example/auth/sso');
  });

  it('reports the latest sign-in, or none', () => {
    expect(recentSignInCheck('app', { ok: true, value: [] }, false).status).toBe('fail');
    expect(recentSignInCheck('app', { ok: true, value: [{ createdDateTime: '2026-11-30T10:00:00Z' }] }, false).detail).toContain(
      '2026-11-30T10:00:00Z',
    );
    expect(recentSignInCheck('app', { ok: false, error: new Error('x') }, true).status).toBe('skip');
  });
});

describe('credential', () => {
  const config = parseConfig({ AZURE_TENANT_ID: TENANT, AZURE_CLIENT_ID: 'c', AZURE_CLIENT_SECRET: 'abcdef' });

  it('reads the tenant of a JWT access token and fails one issued by another tenant', () => {
    expect(tokenTenantId(jwt({ tid: TENANT }))).toBe(TENANT);
    expect(tokenTenantId('opaque-token')).toBeUndefined();
    expect(tokenCheck(config, { ok: true, tokenTenant: TENANT }).status).toBe('pass');
    const other = tokenCheck(config, { ok: true, tokenTenant: '99999999-2222-4333-8444-555555555555' });
    expect(other.status).toBe('fail');
    expect(other.detail).toContain('not AZURE_TENANT_ID');
  });

  it('identifies the secret in use by its hint and warns before it ends', () => {
    const app = {
      passwordCredentials: [
        { hint: 'xyz', endDateTime: '2026-12-03T00:00:00Z' },
        { hint: 'abc', endDateTime: '2027-03-01T00:00:00Z' },
      ],
    };
    const check = expiryCheck(app, { kind: 'secret', hint: 'abc' }, NOW, 'c');
    expect(check.status).toBe('pass');
    expect(check.detail).toContain('expires in 89 days');
    // Not identifiable: the first-ending one is judged, so no warning is missed.
    const unknown = expiryCheck(app, { kind: 'secret', hint: 'qqq' }, NOW, 'c');
    expect(unknown.status).toBe('warn');
    expect(unknown.detail).toContain('could not be identified');
    expect(
      expiryCheck(
        { passwordCredentials: [{ hint: 'abc', endDateTime: '2026-11-30T00:00:00Z' }] },
        { kind: 'secret', hint: 'abc' },
        NOW,
        'c',
      ).status,
    ).toBe('fail');
  });

  it('identifies a certificate by its thumbprint (customKeyIdentifier, base64)', async () => {
    const pems = await generate([{ name: 'commonName', value: 'doctor test' }], { keyType: 'ec', curve: 'P-256' });
    const thumbprint = createHash('sha1').update(new X509Certificate(pems.cert).raw).digest();
    const app = {
      keyCredentials: [
        { customKeyIdentifier: Buffer.from('other-thumbprint-0000').toString('base64'), endDateTime: '2026-12-02T00:00:00Z' },
        { customKeyIdentifier: thumbprint.toString('base64'), endDateTime: '2027-12-01T12:00:00Z' },
      ],
    };
    const check = expiryCheck(app, { kind: 'certificate', thumbprint: thumbprint.toString('hex').toUpperCase() }, NOW, 'c');
    expect(check.status).toBe('pass');
    expect(check.detail).toContain('expires in 365 days');
  });
});

describe('permissions, licence, risk', () => {
  const users = endpointProbes.find((p) => p.reads === 'users')!;
  const leave = endpointProbes.find((p) => p.permission === 'User-LifeCycleInfo.Read.All')!;
  const denied = { ok: false as const, error: new AppError('UPSTREAM_PERMISSION', 'denied') };

  it('fails a denied required permission, warns a denied optional one, and does not blame permissions for a licence', () => {
    expect(permissionCheck(users, denied).status).toBe('fail');
    expect(permissionCheck(leave, denied).status).toBe('warn');
    expect(permissionCheck(users, { ok: false, error: new AppError('UPSTREAM_LICENCE', 'premium') }).status).toBe('skip');
    expect(permissionCheck(users, { ok: false, error: new RequestFailure('exhausted', 'kept failing', -1, undefined) }).status).toBe(
      'fail',
    );
  });

  it('cannot judge the licence or risk without sign-ins', () => {
    expect(licenceCheck(denied).status).toBe('skip');
    expect(riskCheck({ ok: true, value: [] }).status).toBe('skip');
    expect(riskCheck({ ok: true, value: [{ riskLevelDuringSignIn: 'hidden' }] }).status).toBe('warn');
    expect(riskCheck({ ok: true, value: [{ riskLevelDuringSignIn: 'low' }] }).status).toBe('pass');
  });
});

describe('Metabase', () => {
  it('judges write probes: any accepted write fails, grants on Postgres fail, a read-only server passes', () => {
    const denied = ['UPDATE', 'DELETE', 'INSERT'].map((verb) => ({ verb, outcome: 'denied' as const }));
    expect(readOnlyCheck(denied, [], 'db').status).toBe('pass');
    expect(readOnlyCheck([...denied.slice(0, 2), { verb: 'INSERT', outcome: 'accepted' }], [], 'db').status).toBe('fail');
    expect(readOnlyCheck(denied, ['core_user'], 'db').status).toBe('fail');
    expect(
      readOnlyCheck(
        denied.map((d) => ({ ...d, outcome: 'server-read-only' as const })),
        null,
        'db',
      ).detail,
    ).toContain('read replica');
    expect(readOnlyCheck([{ verb: 'UPDATE', outcome: 'error', message: 'x' }], null, 'db').status).toBe('warn');
  });

  it('reads site-url only when stored in plain text, and tells the tenant of the SSO settings', () => {
    expect(plainSiteUrl('https://bi.example')).toBe('https://bi.example');
    expect(plainSiteUrl('AES+CBC$2yf0eDq3u…')).toBeNull();
    expect(
      ssoTenantCheck({ values: { 'saml-identity-provider-uri': `https://login.microsoftonline.com/${TENANT}/saml2` } }, TENANT).status,
    ).toBe('pass');
    expect(
      ssoTenantCheck(
        { values: { 'saml-identity-provider-issuer': 'https://sts.windows.net/99999999-2222-4333-8444-555555555555/' } },
        TENANT,
      ).status,
    ).toBe('fail');
    expect(ssoTenantCheck({ values: {} }, TENANT).status).toBe('skip');
    expect(ssoTenantCheck({ values: null, reason: 'there is no setting table' }, TENANT).detail).toContain('no setting table');
    expect(editionDetail({ values: { 'premium-embedding-token': 'x' } }, null)).toContain('Pro/Enterprise');
  });
});

describe('store and output', () => {
  it('fails a tampered, pending or unknown migration', () => {
    const files = readMigrationFiles();
    const applied = files.map((f) => ({ version: f.version, name: f.name, checksum: f.checksum }));
    expect(migrationCheck(applied, files, 'store').status).toBe('pass');
    expect(migrationCheck(null, files, 'store').fix).toContain('accesstrail migrate');
    expect(migrationCheck(applied.slice(0, -1), files, 'store').detail).toContain('pending');
    expect(migrationCheck([{ ...applied[0]!, checksum: 'x' }, ...applied.slice(1)], files, 'store').detail).toContain(
      'changed after it was applied',
    );
    expect(migrationCheck([...applied, { version: 9999, name: '9999_future', checksum: 'x' }], files, 'store').detail).toContain(
      'does not know',
    );
  });

  it('never prints a configured secret, even one that slipped into a detail', () => {
    const config = parseConfig({
      AZURE_CLIENT_SECRET: 'super-secret-value',
      METABASE_DB_URL: 'postgres://mb:db-pass-123@db/metabase',
      METABASE_API_KEY: 'mb_key_abcdef',
    });
    const secrets = secretValues(config);
    expect(scrub('a super-secret-value, db-pass-123 and mb_key_abcdef', secrets)).toBe('a ***, *** and ***');
    const text = renderText([{ area: 'entra', name: 'x', status: 'fail', ok: false, detail: 'super-secret-value', fix: 'do y' }]);
    expect(text).toContain('✗ x: super-secret-value → fix: do y');
    expect(text).toMatch(/1 required check failed/);
  });
});
