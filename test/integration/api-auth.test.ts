// API keys, scopes, the error shape, the OpenAPI document and the health routes, on a
// real Postgres store through app.inject.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createApiKeyRepository, generateApiKey, hashApiKey } from '../../src/api/api-keys.js';
import { buildApp } from '../../src/api/app.js';
import { createLogger } from '../../src/logger.js';
import { type ApiFixture, bearer, openApiFixture } from './api-helpers.js';

const BOOTSTRAP = `at_${'Bootstrap0123456789'.repeat(2)}`;

describe('API authentication and errors', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await openApiFixture({ env: { ACCESSTRAIL_API_KEYS_BOOTSTRAP: BOOTSTRAP } });
  });
  afterAll(async () => {
    await f?.close();
  });

  it('answers /healthz and /readyz without a key', async () => {
    const health = await f.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await f.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready', engine: 'postgres', detail: { warnings: [] } });
  });

  it('refuses a request without a key (401) with the JSON error shape', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/v1/reports' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    const body = response.json();
    expect(body).toEqual({
      error: {
        code: 'UNAUTHORIZED',
        message: expect.stringContaining('Authorization: Bearer'),
        requestId: response.headers['x-request-id'],
      },
    });
  });

  it('refuses an unknown or malformed key (401), before validating the request', async () => {
    for (const authorization of [`Bearer ${generateApiKey()}`, 'Bearer not-a-key', `Basic ${Buffer.from('a:b').toString('base64')}`]) {
      const response = await f.app.inject({ method: 'GET', url: '/v1/findings?limit=100000', headers: { authorization } });
      expect(response.statusCode, authorization).toBe(401);
      expect(response.json().error.code).toBe('UNAUTHORIZED');
    }
  });

  it('refuses a key without the scope (403) and serves one with it (200)', async () => {
    const reader = await f.key(['reports:read']);
    const forbidden = await f.app.inject({ method: 'GET', url: '/v1/findings', headers: bearer(reader) });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('findings:read') });
    const allowed = await f.app.inject({ method: 'GET', url: '/v1/reports', headers: bearer(reader) });
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json()).toEqual({ items: [], nextCursor: null });

    const collector = await f.key(['collect:run']);
    expect((await f.app.inject({ method: 'GET', url: '/v1/coverage', headers: bearer(collector) })).statusCode).toBe(403);
    expect(
      (
        await f.app.inject({
          method: 'POST',
          url: '/v1/reports',
          headers: bearer(reader),
          payload: { framework: 'soc2', period: '2026-Q2' },
        })
      ).statusCode,
    ).toBe(403);
  });

  it('lets an admin key do everything, and created the bootstrap key once, storing only its hash', async () => {
    for (const url of ['/v1/reports', '/v1/findings', '/v1/accounts', '/v1/coverage']) {
      const response = await f.app.inject({ method: 'GET', url, headers: bearer(BOOTSTRAP) });
      expect(response.statusCode, url).toBe(200);
    }
    // A second start with the same bootstrap key adds nothing.
    const again = await buildApp({ store: f.store, config: f.config, logger: createLogger({ level: 'silent' }) });
    await again.close();
    const rows = await f.store.db.selectFrom('api_key').selectAll().where('name', '=', 'bootstrap').execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ key_sha256: hashApiKey(BOOTSTRAP), scopes: ['admin'], key_prefix: BOOTSTRAP.slice(0, 9) });
    const everything = JSON.stringify(await f.store.db.selectFrom('api_key').selectAll().execute());
    expect(everything).not.toContain(BOOTSTRAP);
  });

  it('records last use and refuses a revoked key', async () => {
    const keys = createApiKeyRepository(f.store.db);
    const { key, info } = await keys.create({ name: 'grc-tool', scopes: ['findings:read'] });
    expect(key).toMatch(/^at_[0-9A-Za-z]{40}$/);
    expect(info.lastUsedAt).toBeNull();
    expect((await f.app.inject({ method: 'GET', url: '/v1/findings', headers: bearer(key) })).statusCode).toBe(200);
    const used = (await keys.list()).find((k) => k.id === info.id);
    expect(used?.lastUsedAt).toBeInstanceOf(Date);

    // Revoked through a repository of its own, as `accesstrail keys revoke` in another
    // process does: the service forgets the key it kept once the store's notification
    // arrives (migration 0016); sync() waits for it (change-feed.test.ts times it).
    await keys.revoke(info.id);
    await f.app.changes.sync();
    const refused = await f.app.inject({ method: 'GET', url: '/v1/findings', headers: bearer(key) });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.message).toContain('revoked');
  });

  it('refuses a key from its expiry on, and refuses an expiry in the past', async () => {
    const keys = createApiKeyRepository(f.store.db);
    const soon = new Date(Date.now() + 1_500);
    const { key, info } = await keys.create({ name: 'audit-window', scopes: ['findings:read'], expiresAt: soon });
    expect(info.expiresAt).toEqual(soon);
    expect((await f.app.inject({ method: 'GET', url: '/v1/findings', headers: bearer(key) })).statusCode).toBe(200);
    // At the expiry instant the repository refuses it (the same answer as unknown or revoked).
    expect(await keys.authenticate(key, soon)).toBeUndefined();
    expect(await keys.authenticate(key, new Date(soon.getTime() - 1))).toMatchObject({ id: info.id });
    await new Promise((resolve) => setTimeout(resolve, soon.getTime() - Date.now() + 50));
    const refused = await f.app.inject({ method: 'GET', url: '/v1/findings', headers: bearer(key) });
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.message).toContain('expired');
    await expect(keys.create({ name: 'late', scopes: ['findings:read'], expiresAt: new Date(Date.now() - 1) })).rejects.toThrow(
      /expiry must be in the future/,
    );
  });

  it('answers validation errors with 400 naming the field', async () => {
    const key = await f.key(['admin']);
    const cases: { method: 'GET' | 'POST'; url: string; payload?: unknown; field: string }[] = [
      { method: 'GET', url: '/v1/findings?limit=501', field: 'querystring.limit' },
      { method: 'GET', url: '/v1/findings?severity=critical', field: 'querystring.severity' },
      { method: 'GET', url: '/v1/findings?from=yesterday', field: 'querystring.from' },
      { method: 'GET', url: '/v1/findings?from=2026-07-01&to=2026-06-01', field: 'querystring.to' },
      { method: 'GET', url: '/v1/findings?cursor=bm90LWEtY3Vyc29y', field: 'querystring.cursor' },
      { method: 'GET', url: '/v1/reports?colour=blue', field: 'querystring' },
      { method: 'POST', url: '/v1/reports', payload: { framework: 'pci', period: '2026-Q3' }, field: 'body.framework' },
      { method: 'POST', url: '/v1/reports', payload: { framework: 'soc2', period: '2026-Q5' }, field: 'body.period' },
      { method: 'POST', url: '/v1/reports', payload: { framework: 'soc2' }, field: 'body.from' },
      { method: 'POST', url: '/v1/reports', payload: { framework: 'soc2', period: '2026-Q3', from: '2026-07-01' }, field: 'body.period' },
      { method: 'POST', url: '/v1/collections', payload: { source: 'okta' }, field: 'body.source' },
      { method: 'GET', url: '/v1/collections/abc', field: 'params.id' },
    ];
    for (const c of cases) {
      const response = await f.app.inject({
        method: c.method,
        url: c.url,
        headers: bearer(key),
        ...(c.payload !== undefined ? { payload: c.payload as object } : {}),
      });
      expect(response.statusCode, c.url).toBe(400);
      const body = response.json();
      expect(body.error.code, c.url).toBe('INPUT_INVALID');
      expect(body.error.message, c.url).toContain(c.field);
      expect(body.error.requestId).toBe(response.headers['x-request-id']);
    }
    const badJson = await f.app.inject({
      method: 'POST',
      url: '/v1/reports',
      headers: { ...bearer(key), 'content-type': 'application/json' },
      payload: '{"framework":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe('INPUT_INVALID');
  });

  it('answers unknown routes and ids with 404 in the same shape', async () => {
    const key = await f.key(['admin']);
    const route = await f.app.inject({ method: 'GET', url: '/v1/nothing', headers: bearer(key) });
    expect(route.statusCode).toBe(404);
    expect(route.json().error.code).toBe('NOT_FOUND');
    const report = await f.app.inject({ method: 'GET', url: '/v1/reports/missing', headers: bearer(key) });
    expect(report.statusCode).toBe(404);
    expect(report.json().error).toMatchObject({ code: 'NOT_FOUND', message: 'no report with id missing' });
    const run = await f.app.inject({ method: 'GET', url: '/v1/collections/999999', headers: bearer(key) });
    expect(run.statusCode).toBe(404);
    const person = await f.app.inject({ method: 'GET', url: '/v1/people/00000000-0000-0000-0000-000000000000', headers: bearer(key) });
    expect(person.statusCode).toBe(404);
  });

  it('publishes the report JSON Schema to a reports:read key', async () => {
    const key = await f.key(['reports:read']);
    const response = await f.app.inject({ method: 'GET', url: '/v1/schemas/report', headers: bearer(key) });
    expect(response.statusCode).toBe(200);
    const schema = JSON.parse(response.body) as { properties?: Record<string, unknown> };
    expect(Object.keys(schema.properties ?? {})).toEqual(
      expect.arrayContaining(['schemaVersion', 'framework', 'period', 'controls', 'findings', 'integrity']),
    );
    expect((await f.app.inject({ method: 'GET', url: '/v1/schemas/report' })).statusCode).toBe(401);
  });

  it('publishes an OpenAPI document with every route, and its viewer, without a key', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = JSON.parse(response.body) as { openapi: string; paths: Record<string, Record<string, { security?: unknown }>> };
    expect(document.openapi).toBe('3.0.3');
    const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /v1/reports',
        'POST /v1/reports',
        'GET /v1/reports/{id}',
        'GET /v1/reports/{id}/verify',
        'GET /v1/schemas/report',
        'GET /v1/findings',
        'GET /v1/people/{id}',
        'GET /v1/accounts',
        'POST /v1/collections',
        'GET /v1/collections/{id}',
        'GET /v1/coverage',
      ].sort(),
    );
    expect(document.paths['/v1/findings']?.['get']?.security).toEqual([{ bearerAuth: [] }]);
    const docs = await f.app.inject({ method: 'GET', url: '/docs' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toContain('text/html');
  });

  it('never writes a key to the log, even when a request fails', async () => {
    const key = await f.key(['reports:read']);
    const unknown = generateApiKey();
    await f.app.inject({ method: 'GET', url: '/v1/reports', headers: bearer(key) });
    await f.app.inject({ method: 'GET', url: '/v1/findings', headers: bearer(key) });
    await f.app.inject({ method: 'GET', url: '/v1/reports?limit=0', headers: bearer(key) });
    await f.app.inject({ method: 'GET', url: '/v1/reports', headers: bearer(unknown) });
    // A handler that logs the request headers on purpose: redaction must still hold.
    f.app.log.info({ headers: { authorization: `Bearer ${key}` } }, 'headers');
    const log = f.logText();
    expect(log).toContain('request completed');
    expect(log).toContain('[redacted]');
    for (const secret of [key, key.slice(3), unknown, BOOTSTRAP]) expect(log).not.toContain(secret);
  });
});

describe('POST /v1/reports', () => {
  let f: ApiFixture;
  beforeAll(async () => {
    f = await openApiFixture();
  });
  afterAll(async () => {
    await f?.close();
  });

  it('builds, signs and stores a report that then lists, reads and verifies', async () => {
    const writer = await f.key(['reports:write', 'reports:read']);
    const created = await f.app.inject({
      method: 'POST',
      url: '/v1/reports',
      headers: bearer(writer),
      payload: { framework: 'iso27001', period: '2026-Q2' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json();
    expect(body).toMatchObject({
      framework: 'iso27001',
      period: { from: '2026-04-01T00:00:00.000Z', to: '2026-07-01T00:00:00.000Z' },
      contentSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(body.files.map((file: { format: string }) => file.format)).toEqual(['json']);
    expect(JSON.stringify(body.files)).not.toContain(f.dataDir);
    expect(created.headers['location']).toBe(`/v1/reports/${body.id}`);

    const listed = await f.app.inject({ method: 'GET', url: '/v1/reports', headers: bearer(writer) });
    expect(listed.json().items.map((item: { id: string }) => item.id)).toEqual([body.id]);
    const stored = await f.app.inject({ method: 'GET', url: `/v1/reports/${body.id}`, headers: bearer(writer) });
    expect(stored.json()).toMatchObject({ framework: 'iso27001', integrity: { contentSha256: body.contentSha256 } });
    const verify = await f.app.inject({ method: 'GET', url: `/v1/reports/${body.id}/verify`, headers: bearer(writer) });
    expect(verify.json()).toMatchObject({ ok: true, reasons: [] });
  });
});
