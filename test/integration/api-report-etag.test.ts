// GET /v1/reports/{id} as JSON: the stored bytes (the canonical JSON of the signed
// model, migration 0011) with a strong ETag, and If-None-Match answered 304. The body
// must be the same document the stored model is, in the form `accesstrail verify`
// accepts as it is (canonical JSON).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { canonicalReportJson } from '../../src/reports/canonical-json.js';
import type { ReportModel } from '../../src/reports/model.js';
import { loadSigningKey, loadTrustedPublicKeys, signModel } from '../../src/reports/signing.js';
import { verifyReportFile } from '../../src/reports/verify-files.js';
import { sampleReportModel } from '../support/sample-model.js';
import { type ApiFixture, bearer, openApiFixture } from './api-helpers.js';

const NOW = new Date('2026-07-15T12:00:00Z');

describe('GET /v1/reports/{id} (JSON): stored bytes, ETag, 304', () => {
  let f: ApiFixture;
  let admin: string;
  let model: ReportModel;

  beforeAll(async () => {
    f = await openApiFixture({ now: () => NOW });
    admin = await f.key(['admin']);
    model = signModel(sampleReportModel({ accounts: 25, events: 1500, seed: 11 }), loadSigningKey({ dataDir: f.dataDir }));
    // Stored as the report service stores it: the model in jsonb, no served JSON yet.
    await f.store.db
      .insertInto('report')
      .values({
        id: 'rpt-etag',
        framework: model.framework,
        period_from: model.period.from,
        period_to: model.period.to,
        as_of: model.asOf,
        generated_at: model.generatedAt,
        provisional: model.provisional,
        content_sha256: model.integrity!.contentSha256,
        signature: JSON.stringify(model.integrity!.signature),
        content: JSON.stringify(model),
      })
      .execute();
  });
  afterAll(async () => {
    await f?.close();
  });

  const get = (headers: Record<string, string> = {}, url = '/v1/reports/rpt-etag') =>
    f.app.inject({ method: 'GET', url, headers: { ...bearer(admin), ...headers } });

  it('serves the canonical JSON of the stored model with its SHA-256 as a strong ETag', async () => {
    const response = await get();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers.vary).toContain('accept');
    // The same document the model is, in canonical form.
    expect(response.json()).toEqual(JSON.parse(JSON.stringify(model)));
    expect(response.body).toBe(canonicalReportJson(model));
    const etag = response.headers.etag as string;
    expect(etag).toBe(`"${createHash('sha256').update(response.rawPayload).digest('hex')}"`);
    expect(etag.startsWith('W/')).toBe(false);

    // Written once to the row and served from it afterwards, byte for byte.
    const row = await sql<{ content_json: string; content_json_sha256: string }>`
      select content_json, content_json_sha256 from report where id = 'rpt-etag'`.execute(f.store.db);
    expect(row.rows[0]!.content_json).toBe(response.body);
    expect(`"${row.rows[0]!.content_json_sha256}"`).toBe(etag);
    const again = await get();
    expect(again.body).toBe(response.body);
    expect(again.headers.etag).toBe(etag);
  });

  it('gzips for a client that takes gzip: the same bytes, a tag of their own, 304 for either tag', async () => {
    const plain = await get();
    const etag = plain.headers.etag as string;
    const zipped = await get({ 'accept-encoding': 'gzip, deflate, br' });
    expect(zipped.statusCode).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toContain('accept');
    expect(zipped.headers.vary).toContain('accept-encoding');
    expect(zipped.headers.etag).toBe(`${etag.slice(0, -1)}-gzip"`);
    expect(gunzipSync(zipped.rawPayload).equals(plain.rawPayload)).toBe(true);
    expect(zipped.rawPayload.length).toBeLessThan(plain.rawPayload.length / 4);
    // Refused (q=0), or not offered: the plain bytes.
    for (const refused of ['gzip;q=0, identity', 'br', 'identity']) {
      const response = await get({ 'accept-encoding': refused });
      expect(response.headers['content-encoding'], refused).toBeUndefined();
      expect(response.rawPayload.equals(plain.rawPayload), refused).toBe(true);
    }
    expect((await get({ 'accept-encoding': '*' })).headers['content-encoding']).toBe('gzip');
    // A cache holding either representation revalidates with its own tag.
    for (const [tag, encoding] of [
      [etag, 'gzip'],
      [zipped.headers.etag as string, 'identity'],
    ] as const) {
      const revalidated = await get({ 'if-none-match': tag, 'accept-encoding': encoding });
      expect(revalidated.statusCode).toBe(304);
      expect(revalidated.headers.etag).toBe(encoding === 'gzip' ? zipped.headers.etag : etag);
    }
  });

  it('serves the bytes stored in the row, not a re-serialisation of the model', async () => {
    // A row whose served JSON was written differently (here: pretty-printed) is served as
    // it is; nothing parses and re-serialises it per request.
    const pretty = JSON.stringify(JSON.parse(canonicalReportJson(model)), null, 2);
    const sha = createHash('sha256').update(pretty).digest('hex');
    await f.store.db
      .insertInto('report')
      .values({
        id: 'rpt-pretty',
        framework: model.framework,
        period_from: model.period.from,
        period_to: model.period.to,
        as_of: model.asOf,
        generated_at: model.generatedAt,
        provisional: model.provisional,
        content_sha256: model.integrity!.contentSha256,
        signature: JSON.stringify(model.integrity!.signature),
        content: JSON.stringify(model),
      })
      .execute();
    await sql`update report set content_json = ${pretty}, content_json_sha256 = ${sha} where id = 'rpt-pretty'`.execute(f.store.db);
    const response = await get({}, '/v1/reports/rpt-pretty');
    expect(response.body).toBe(pretty);
    expect(response.headers.etag).toBe(`"${sha}"`);
    // The served body is kept in memory by its row's hash: a row naming another hash is
    // read again (a report is immutable, but a cache must never outlive its row). The
    // service keeps the row's tag until the store's notification arrives (migration
    // 0016): sync() waits for it.
    const compact = canonicalReportJson(model);
    const compactSha = createHash('sha256').update(compact).digest('hex');
    await sql`update report set content_json = ${compact}, content_json_sha256 = ${compactSha} where id = 'rpt-pretty'`.execute(f.store.db);
    await f.app.changes.sync();
    const reread = await get({}, '/v1/reports/rpt-pretty');
    expect(reread.body).toBe(compact);
    expect(reread.headers.etag).toBe(`"${compactSha}"`);
    await f.store.db.deleteFrom('report').where('id', '=', 'rpt-pretty').execute();
    await f.app.changes.sync();
    expect((await get({}, '/v1/reports/rpt-pretty')).statusCode).toBe(404);
  });

  it('passes `accesstrail verify` as downloaded', async () => {
    const response = await get();
    const file = path.join(f.dataDir, 'downloaded.json');
    writeFileSync(file, response.rawPayload);
    const result = await verifyReportFile(file, loadTrustedPublicKeys(f.dataDir));
    expect(result.reasons).toEqual([]);
    expect(result.ok).toBe(true);
    // And a byte changed outside the content is caught (the check can fail).
    writeFileSync(file, response.body.replace('{', '{ '));
    expect((await verifyReportFile(file, loadTrustedPublicKeys(f.dataDir))).ok).toBe(false);
  });

  it('answers If-None-Match with the current tag 304 and no body; any other tag 200', async () => {
    const etag = (await get()).headers.etag as string;
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await get({ 'if-none-match': header });
      expect(response.statusCode, header).toBe(304);
      expect(response.body).toBe('');
      expect(response.headers.etag).toBe(etag);
    }
    const stale = await get({ 'if-none-match': '"0000"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.body).toBe(canonicalReportJson(model));
  });

  it('keeps 404 for an unknown report and authorisation before the tag', async () => {
    const missing = await get({ 'if-none-match': '*' }, '/v1/reports/rpt-nobody');
    expect(missing.statusCode).toBe(404);
    const etag = (await get()).headers.etag as string;
    const anonymous = await f.app.inject({ method: 'GET', url: '/v1/reports/rpt-etag', headers: { 'if-none-match': etag } });
    expect(anonymous.statusCode).toBe(401);
  });

  it('gives the JSON tag to the JSON only: a PDF request with it is answered with the PDF', async () => {
    const etag = (await get()).headers.etag as string;
    const pdf = await get({ accept: 'application/pdf', 'if-none-match': etag });
    expect(pdf.statusCode).toBe(200);
    expect(pdf.headers['content-type']).toBe('application/pdf');
    expect(pdf.headers.etag).toBeUndefined();
  });
});
