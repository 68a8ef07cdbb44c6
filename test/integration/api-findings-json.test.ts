// GET /v1/findings serves pages made in Postgres (FINDING_JSON in
// src/correlation/finding-json.ts) and kept by run and query. The contract must not move:
// every page is compared, byte for byte, with what the route sent before, the rows
// mapped by toFinding and serialised through the response schema, over rows chosen to
// be awkward (nulls, escapes, evidence that is not an array, `at` with an offset and
// microseconds). Then the page's strong ETag: 304 for a client that has it, and a new
// run's findings served at once.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';

import { createReadRepository } from '../../src/api/read.repository.js';
import { findingSchema, toFinding } from '../../src/api/routes/findings.routes.js';
import { insertFindings } from '../../src/correlation/finding-json.js';
import { findingSubjectOf } from '../../src/correlation/reuse.js';
import type { RuleFinding } from '../../src/correlation/types.js';
import { insertCorrelationRun } from '../support/factories.js';
import { type ApiFixture, bearer, openApiFixture } from './api-helpers.js';

const pageSchema = z.object({ correlationRunId: z.number().nullable(), items: z.array(findingSchema), nextCursor: z.string().nullable() });

const AWKWARD_TEXT = 'quote " backslash \\ newline \n tab \t bell \u0007 unit \u001f del \u007f é 😀 \u2028 </script>';

describe('GET /v1/findings as stored JSON', () => {
  let f: ApiFixture;
  let key: string;
  let runId: number;

  const succeededRun = (finishedAt: string) => insertCorrelationRun(f.store.db, { finishedAt });

  const evidenceVariants: unknown[] = [
    [{ source: 'metabase-login', id: 'login-1', at: '2026-04-02T00:00:00.000Z' }],
    [
      { source: 'entra-sign-in', id: 'sign-in-1', at: null },
      { id: 'only-an-id' },
      { source: 'entra-sign-in', id: 'sign-in-2', at: '2026-04-02T03:04:05.123456+02:00' },
      { source: 'entra-sign-in', id: 'sign-in-3', at: '2026-04-02T03:04:05Z' },
      { source: 'entra-sign-in', id: 'sign-in-4', at: 5 },
      'not an object',
      { source: AWKWARD_TEXT, id: AWKWARD_TEXT, at: '2026-05-31T23:59:59.999Z', extra: 'dropped' },
    ],
    { not: 'an array' },
    [],
  ];

  function finding(run: number, i: number) {
    const awkward = i % 5 === 0;
    return {
      run_id: run,
      id: `f-${String(i).padStart(4, '0')}`,
      rule: ['sso-bypass', 'dormant-account', 'access-after-termination'][i % 3]!,
      severity: (['high', 'medium', 'low'] as const)[i % 3]!,
      person_id: awkward ? null : `person-${i % 4}`,
      upn: awkward ? null : `user${i}@contoso.example`,
      account_id: awkward ? null : String(i),
      email: i % 2 ? AWKWARD_TEXT : null,
      credential_id: i % 7 === 0 ? `cred-${i}` : null,
      subject_source: awkward ? null : 'metabase:main',
      summary: i % 3 === 0 ? AWKWARD_TEXT : `finding ${i}`,
      first_seen: awkward ? null : i % 2 ? '2026-04-02T00:00:00.999999Z' : '2026-04-02T10:00:00+02:00',
      last_seen: awkward ? null : new Date(Date.parse('2026-04-01T00:00:00Z') + i * 43_200_000).toISOString(),
      evidence: JSON.stringify(evidenceVariants[i % evidenceVariants.length]),
      detail: JSON.stringify({ internal: 'never served' }),
    };
  }

  /** The same finding as a rule returns it, for the writer correlation uses. Its
   *  evidence is passed as it is, awkward shapes included (the writer stores it as given). */
  function asRuleFinding(run: number, i: number): RuleFinding {
    const row = finding(run, i);
    return {
      id: row.id,
      rule: row.rule,
      severity: row.severity,
      subject: findingSubjectOf(row),
      summary: row.summary,
      firstSeen: row.first_seen === null ? null : new Date(row.first_seen),
      lastSeen: row.last_seen === null ? null : new Date(row.last_seen),
      evidence: JSON.parse(row.evidence) as RuleFinding['evidence'],
      detail: JSON.parse(row.detail) as Record<string, unknown>,
    };
  }

  beforeAll(async () => {
    f = await openApiFixture({ now: () => new Date('2026-07-15T12:00:00Z') });
    key = await f.key(['findings:read']);
    runId = await succeededRun('2026-07-10T00:00:00Z');
    await f.store.db
      .insertInto('finding')
      .values(Array.from({ length: 75 }, (_, i) => finding(runId, i)))
      .execute();
  });
  afterAll(async () => {
    await f?.close();
  });

  /** What the route sent before: the rows through toFinding and the response schema. */
  async function previousBody(
    query: { limit: number; after?: string; rule?: string; severity?: 'high' | 'medium' | 'low'; person?: string; from?: Date; to?: Date },
    run = runId,
  ): Promise<string> {
    const reads = createReadRepository(f.store.db);
    const rows = await reads.listFindings(
      run,
      { rule: query.rule, severity: query.severity, personId: query.person, from: query.from, to: query.to },
      query.limit + 1,
      query.after,
    );
    const items = rows.slice(0, query.limit);
    const nextCursor = rows.length > query.limit ? Buffer.from(JSON.stringify([items.at(-1)!.id])).toString('base64url') : null;
    return JSON.stringify(pageSchema.parse({ correlationRunId: run, items: items.map(toFinding), nextCursor }));
  }

  /** Walks every page of the latest run at `limit` a page, each compared byte for byte
   *  with what the route sent before for `run`; returns the number of pages. */
  async function pageThrough(limit: number, run = runId): Promise<number> {
    let cursor: string | null = null;
    let after: string | undefined;
    let pages = 0;
    do {
      const response = await f.app.inject({
        method: 'GET',
        url: `/v1/findings?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        headers: bearer(key),
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.body).toBe(await previousBody({ limit, ...(after ? { after } : {}) }, run));
      const body = response.json() as { items: { id: string }[]; nextCursor: string | null };
      cursor = body.nextCursor;
      after = body.items.at(-1)?.id;
      pages++;
    } while (cursor && pages < 10);
    return pages;
  }

  it('serves every page byte for byte as the schema-serialised mapping did', async () => {
    expect(await pageThrough(20)).toBe(4);
  });

  it('keeps the awkward values as they were: escapes, nulls, evidence not an array, at normalised to UTC milliseconds', async () => {
    const response = await f.app.inject({ method: 'GET', url: '/v1/findings?limit=10', headers: bearer(key) });
    const items = (response.json() as { items: z.infer<typeof findingSchema>[] }).items;
    expect(items[0]).toMatchObject({ summary: AWKWARD_TEXT, subject: { personId: null, upn: null }, firstSeen: null, lastSeen: null });
    expect(items[1]!.evidence).toEqual([
      { source: 'entra-sign-in', id: 'sign-in-1', at: null },
      { source: '', id: 'only-an-id', at: null },
      { source: 'entra-sign-in', id: 'sign-in-2', at: '2026-04-02T01:04:05.123Z' },
      { source: 'entra-sign-in', id: 'sign-in-3', at: '2026-04-02T03:04:05.000Z' },
      { source: 'entra-sign-in', id: 'sign-in-4', at: null },
      { source: '', id: '', at: null },
      { source: AWKWARD_TEXT, id: AWKWARD_TEXT, at: '2026-05-31T23:59:59.999Z' },
    ]);
    expect(items[1]!.firstSeen).toBe('2026-04-02T00:00:00.999Z');
    expect(items[2]!.evidence).toEqual([]);
    expect(response.body).not.toContain('never served');
  });

  it('serves filtered pages as before', async () => {
    const queries = [
      { url: 'rule=sso-bypass&limit=7', query: { rule: 'sso-bypass', limit: 7 } },
      { url: 'severity=low&limit=500', query: { severity: 'low' as const, limit: 500 } },
      { url: 'person=person-1&limit=3', query: { person: 'person-1', limit: 3 } },
      {
        url: 'from=2026-04-03&to=2026-04-10T06:00:00Z&limit=50',
        query: { from: new Date('2026-04-03T00:00:00Z'), to: new Date('2026-04-10T06:00:00Z'), limit: 50 },
      },
    ];
    for (const { url, query } of queries) {
      const response = await f.app.inject({ method: 'GET', url: `/v1/findings?${url}`, headers: bearer(key) });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.body, url).toBe(await previousBody(query));
    }
  });

  it('answers 304 to a client that has the page, and serves a new run at once', async () => {
    const first = await f.app.inject({ method: 'GET', url: '/v1/findings?limit=30', headers: bearer(key) });
    const etag = first.headers['etag'] as string;
    expect(etag).toMatch(/^"[0-9a-f]{64}"$/);
    const again = await f.app.inject({ method: 'GET', url: '/v1/findings?limit=30', headers: bearer(key) });
    expect(again.headers['etag']).toBe(etag);
    expect(again.body).toBe(first.body);
    const revalidated = await f.app.inject({
      method: 'GET',
      url: '/v1/findings?limit=30',
      headers: { ...bearer(key), 'if-none-match': `W/"x", ${etag}` },
    });
    expect(revalidated.statusCode).toBe(304);
    expect(revalidated.body).toBe('');
    expect(revalidated.headers['etag']).toBe(etag);
    // Another page of the same run has a tag of its own.
    const other = await f.app.inject({ method: 'GET', url: '/v1/findings?limit=31', headers: { ...bearer(key), 'if-none-match': etag } });
    expect(other.statusCode).toBe(200);

    const newer = await succeededRun('2026-07-11T00:00:00Z');
    await f.store.db
      .insertInto('finding')
      .values([finding(newer, 1), finding(newer, 2)])
      .execute();
    // The service keeps the latest run until the store's notification arrives (migration 0016).
    await f.app.changes.sync();
    const afterRun = await f.app.inject({
      method: 'GET',
      url: '/v1/findings?limit=30',
      headers: { ...bearer(key), 'if-none-match': etag },
    });
    expect(afterRun.statusCode).toBe(200);
    expect(afterRun.headers['etag']).not.toBe(etag);
    expect(afterRun.json().correlationRunId).toBe(newer);
    expect(afterRun.body).toBe(await previousBody({ limit: 30 }, newer));
  });

  it('serves the JSON stored with the findings (written as correlation writes it) byte for byte as before', async () => {
    const stored = await succeededRun('2026-07-12T00:00:00Z');
    // 2,100 findings: the writer's parts of 1,000, the last one short.
    await f.store.db.transaction().execute((trx) =>
      insertFindings(
        trx,
        stored,
        Array.from({ length: 2_100 }, (_, i) => asRuleFinding(stored, i)),
      ),
    );
    const texts = await f.store.db.selectFrom('finding').select(['id', 'api_json']).where('run_id', '=', stored).execute();
    expect(texts.every((row) => typeof row.api_json === 'string')).toBe(true);
    await f.app.changes.sync();
    expect(await pageThrough(250, stored)).toBe(9);
    // The stored text is what is served (not made again): changed in place, it shows.
    await f.store.db
      .updateTable('finding')
      .set({ api_json: sql<string>`replace(api_json, '"finding 1"', '"stored text"')` })
      .where('run_id', '=', stored)
      .where('id', '=', 'f-0001')
      .execute();
    const served = await f.app.inject({ method: 'GET', url: '/v1/findings?limit=2', headers: bearer(key) });
    expect(served.json().items[1]).toMatchObject({ id: 'f-0001', summary: 'stored text' });
  });

  it('still refuses a request without a key, and a bad cursor, before any page is served', async () => {
    expect((await f.app.inject({ method: 'GET', url: '/v1/findings?limit=30' })).statusCode).toBe(401);
    const bad = await f.app.inject({ method: 'GET', url: '/v1/findings?cursor=bm90LWEtY3Vyc29y', headers: bearer(key) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('INPUT_INVALID');
  });
});
