// The API's read routes over a hand-built store: stored reports (JSON, PDF, CSV, OSCAL,
// verify), findings with filters, people, accounts, pagination, collections and
// coverage. Rows are made by small factories; evidence goes through the repository.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Finding, ReportModel } from '../../src/reports/model.js';
import { loadSigningKey, signModel } from '../../src/reports/signing.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { insertCorrelationRun } from '../support/factories.js';
import { sampleReportModel } from '../support/sample-model.js';
import { type ApiFixture, bearer, openApiFixture } from './api-helpers.js';

const NOW = new Date('2026-07-15T12:00:00Z');
const METABASE = 'metabase:main';
const ENTRA = 'entra:contoso';
const ADA = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';

async function collectPages(f: ApiFixture, key: string, url: string): Promise<{ items: Record<string, unknown>[]; pages: number }> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const separator = url.includes('?') ? '&' : '?';
    const response = await f.app.inject({
      method: 'GET',
      url: `${url}${cursor ? `${separator}cursor=${cursor}` : ''}`,
      headers: bearer(key),
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as { items: Record<string, unknown>[]; nextCursor: string | null };
    items.push(...body.items);
    cursor = body.nextCursor;
    pages++;
  } while (cursor && pages < 100);
  return { items, pages };
}

describe('API read routes', () => {
  let f: ApiFixture;
  let admin: string;
  let model: ReportModel;

  async function insertReport(id: string, signed: ReportModel, generatedAt = signed.generatedAt): Promise<void> {
    await f.store.db
      .insertInto('report')
      .values({
        id,
        framework: signed.framework,
        period_from: signed.period.from,
        period_to: signed.period.to,
        as_of: signed.asOf,
        generated_at: generatedAt,
        provisional: signed.provisional,
        content_sha256: signed.integrity!.contentSha256,
        signature: JSON.stringify(signed.integrity!.signature),
        content: JSON.stringify(signed),
      })
      .execute();
  }

  const correlationRun = (status: 'succeeded' | 'failed' | 'running', finishedAt: Date | null, purpose: 'current' | 'report' = 'current') =>
    insertCorrelationRun(f.store.db, { status, finishedAt, purpose });

  function finding(
    runId: number,
    i: number,
    overrides: Partial<{ rule: string; severity: 'high' | 'medium' | 'low'; person_id: string | null; last_seen: string }> = {},
  ) {
    const rules = ['sso-bypass', 'dormant-account', 'access-after-termination'];
    const severities = ['high', 'medium', 'low'] as const;
    return {
      run_id: runId,
      id: `f-${String(i).padStart(4, '0')}`,
      rule: overrides.rule ?? (rules[i % 3] as string),
      severity: overrides.severity ?? severities[i % 3]!,
      person_id: overrides.person_id === undefined ? (i % 2 === 0 ? ADA : BOB) : overrides.person_id,
      upn: i % 2 === 0 ? 'ada@contoso.example' : 'bob@contoso.example',
      account_id: String(i % 2 === 0 ? 1 : 2),
      email: null,
      credential_id: null,
      subject_source: METABASE,
      summary: `finding ${i}`,
      first_seen: '2026-04-02T00:00:00Z',
      last_seen: overrides.last_seen ?? new Date(Date.parse('2026-04-01T00:00:00Z') + i * 3_600_000 * 12).toISOString(),
      evidence: JSON.stringify([{ source: 'metabase-login', id: `login-${i}`, at: '2026-04-02T00:00:00.000Z' }]),
      detail: JSON.stringify({ internal: 'not for the API' }),
    };
  }

  beforeAll(async () => {
    f = await openApiFixture({ now: () => NOW });
    admin = await f.key(['admin']);
    const key = loadSigningKey({ dataDir: f.dataDir });
    model = signModel(sampleReportModel({ accounts: 30, events: 2000, seed: 7 }), key);
    await insertReport('rpt-main', model);
  });
  afterAll(async () => {
    await f?.close();
  });

  describe('reports', () => {
    it('returns the stored report JSON unchanged, and it verifies', async () => {
      const response = await f.app.inject({ method: 'GET', url: '/v1/reports/rpt-main', headers: bearer(admin) });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('application/json');
      expect(response.json()).toEqual(JSON.parse(JSON.stringify(model)));

      const verify = await f.app.inject({ method: 'GET', url: '/v1/reports/rpt-main/verify', headers: bearer(admin) });
      expect(verify.json()).toEqual({
        id: 'rpt-main',
        ok: true,
        reasons: [],
        contentSha256: model.integrity!.contentSha256,
        keyId: model.integrity!.signature.keyId,
      });
    });

    it('verify names a content change in a stored report', async () => {
      const tampered = structuredClone(model);
      (tampered.findings as Finding[])[0]!.summary = 'nothing to see here';
      await insertReport('rpt-tampered', tampered);
      const verify = await f.app.inject({ method: 'GET', url: '/v1/reports/rpt-tampered/verify', headers: bearer(admin) });
      expect(verify.statusCode).toBe(200);
      const body = verify.json();
      expect(body.ok).toBe(false);
      expect(body.reasons.join('\n')).toContain('content hash mismatch');
      await f.store.db.deleteFrom('report').where('id', '=', 'rpt-tampered').execute();
    });

    it('renders the stored model as PDF, CSV and OSCAL', async () => {
      const pdf = await f.app.inject({
        method: 'GET',
        url: '/v1/reports/rpt-main',
        headers: { ...bearer(admin), accept: 'application/pdf' },
      });
      expect(pdf.statusCode).toBe(200);
      expect(pdf.headers['content-type']).toBe('application/pdf');
      expect(pdf.rawPayload.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      expect(pdf.rawPayload.subarray(-6).toString('latin1')).toContain('%%EOF');
      expect(pdf.rawPayload.toString('latin1')).toContain(model.integrity!.contentSha256);

      const csv = await f.app.inject({ method: 'GET', url: '/v1/reports/rpt-main', headers: { ...bearer(admin), accept: 'text/csv' } });
      expect(csv.statusCode).toBe(200);
      expect(csv.headers['content-type']).toContain('text/csv');
      const lines = csv.body.trim().split(/\r?\n/);
      expect(lines).toHaveLength(model.findings.length + 1);
      expect(csv.body).toContain(model.findings.at(0)!.id);

      const population = await f.app.inject({
        method: 'GET',
        url: '/v1/reports/rpt-main?format=csv&population=human-accounts',
        headers: bearer(admin),
      });
      expect(population.statusCode).toBe(200);
      expect(population.body.split(/\r?\n/)[0]).toContain('metabase_source_id,account_id,email');
      const unknown = await f.app.inject({
        method: 'GET',
        url: '/v1/reports/rpt-main?format=csv&population=nobody',
        headers: bearer(admin),
      });
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json().error.message).toContain('human-accounts');

      const oscal = await f.app.inject({ method: 'GET', url: '/v1/reports/rpt-main?format=oscal', headers: bearer(admin) });
      expect(oscal.statusCode).toBe(200);
      const document = JSON.parse(oscal.body) as Record<string, unknown>;
      expect(Object.keys(document)).toEqual(['assessment-results']);
    });

    it('lists reports newest first, each exactly once across pages', async () => {
      const key = loadSigningKey({ dataDir: f.dataDir });
      // Two pairs share a generatedAt, so the cursor must break ties by id.
      const stamps = [
        '2026-07-02T00:00:00Z',
        '2026-07-03T00:00:00Z',
        '2026-07-03T00:00:00Z',
        '2026-07-04T00:00:00Z',
        '2026-07-05T00:00:00Z',
        '2026-07-05T00:00:00Z',
      ];
      for (const [i, stamp] of stamps.entries()) {
        const signed = signModel({ ...sampleReportModel({ accounts: 3, events: 10, seed: 100 + i }), generatedAt: stamp }, key);
        await insertReport(`rpt-${i}`, signed);
      }
      const reader = await f.key(['reports:read']);
      const { items, pages } = await collectPages(f, reader, '/v1/reports?limit=2');
      expect(pages).toBe(4);
      const ids = items.map((item) => item['id']);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.sort()).toEqual(['rpt-0', 'rpt-1', 'rpt-2', 'rpt-3', 'rpt-4', 'rpt-5', 'rpt-main'].sort());
      const stampsSeen = items.map((item) => item['generatedAt'] as string);
      expect([...stampsSeen].sort().reverse()).toEqual(stampsSeen);
      expect(items.find((item) => item['id'] === 'rpt-main')).toEqual({
        id: 'rpt-main',
        framework: 'soc2',
        period: { from: '2026-04-01T00:00:00.000Z', to: '2026-07-01T00:00:00.000Z' },
        asOf: new Date(model.asOf).toISOString(),
        generatedAt: new Date(model.generatedAt).toISOString(),
        provisional: model.provisional,
        contentSha256: model.integrity!.contentSha256,
      });
    });
  });

  describe('findings, people and accounts', () => {
    let latest: number;
    beforeAll(async () => {
      const older = await correlationRun('succeeded', new Date('2026-07-01T00:00:00Z'));
      latest = await correlationRun('succeeded', new Date('2026-07-10T00:00:00Z'));
      // A later run still under way, and one that failed: neither may show.
      const running = await correlationRun('running', null);
      const failed = await correlationRun('failed', new Date('2026-07-12T00:00:00Z'));
      // A report's own run for an old quarter, finished later: not the current findings.
      const report = await correlationRun('succeeded', new Date('2026-07-15T00:00:00Z'), 'report');
      const db = f.store.db;
      await db
        .insertInto('finding')
        .values([finding(older, 9000), finding(running, 9001), finding(failed, 9002), finding(report, 9003)])
        .execute();
      await db
        .insertInto('finding')
        .values(Array.from({ length: 130 }, (_, i) => finding(latest, i)))
        .execute();

      const collection = createCollectionRepository(db);
      await collection.upsertSource({ id: METABASE, kind: 'metabase', displayName: 'Metabase' });
      await collection.upsertSource({ id: ENTRA, kind: 'entra', displayName: 'Contoso' });
      const evidence = createEvidenceRepository(db);
      const accounts = await evidence.beginSnapshot('metabase_account_version', METABASE, new Date('2026-07-09T00:00:00Z'));
      await accounts.write(
        Array.from({ length: 7 }, (_, i) => ({
          upstream_id: String(i + 1),
          raw: { id: i + 1, email: `user${i + 1}@contoso.example` },
          email: `user${i + 1}@contoso.example`,
          is_active: i !== 3,
        })),
      );
      await accounts.finish({ complete: true });
      const users = await evidence.beginSnapshot('entra_user_version', ENTRA, new Date('2026-07-09T00:00:00Z'));
      await users.write([{ upstream_id: ADA, raw: { id: ADA }, user_principal_name: 'Ada@Contoso.example', account_enabled: true }]);
      await users.finish({ complete: true });

      const link = (runId: number, accountId: number, status: 'linked' | 'unmatched', personId: string | null) => ({
        run_id: runId,
        metabase_source_id: METABASE,
        account_id: accountId,
        status,
        person_id: personId,
        entra_source_id: personId ? ENTRA : null,
        method: personId ? 'upn' : null,
        matched_value: personId ? `user${accountId}@contoso.example` : null,
        candidates: null,
      });
      await db
        .insertInto('identity_link')
        .values([
          link(latest, 1, 'linked', ADA),
          link(latest, 3, 'linked', ADA),
          link(latest, 2, 'linked', BOB),
          ...[4, 5, 6, 7].map((id) => link(latest, id, 'unmatched', null)),
          link(older, 1, 'linked', BOB),
        ])
        .execute();
      await db
        .insertInto('login_match')
        .values(
          Array.from({ length: 3 }, (_, i) => ({
            run_id: latest,
            metabase_source_id: METABASE,
            login_id: `login-${i}`,
            login_at: `2026-06-0${i + 1}T08:00:00Z`,
            account_id: 1,
            person_id: ADA,
            sign_in_source_id: ENTRA,
            sign_in_id: i === 2 ? null : `sign-in-${i}`,
            sign_in_at: i === 2 ? null : `2026-06-0${i + 1}T07:59:58Z`,
            lag_seconds: i === 2 ? null : 2,
            same_ip: i === 2 ? null : true,
            outcome: i === 2 ? 'unexplained' : 'explained',
          })),
        )
        .execute();
    });

    it("lists the latest successful run's findings, each exactly once across pages, without internal detail", async () => {
      const reader = await f.key(['findings:read']);
      const { items, pages } = await collectPages(f, reader, '/v1/findings?limit=50');
      expect(pages).toBe(3);
      expect(items).toHaveLength(130);
      expect(new Set(items.map((item) => item['id'])).size).toBe(130);
      expect(items.some((item) => ['f-9000', 'f-9001', 'f-9002', 'f-9003'].includes(item['id'] as string))).toBe(false);
      expect(items[0]).toEqual({
        id: 'f-0000',
        rule: 'sso-bypass',
        severity: 'high',
        subject: { personId: ADA, upn: 'ada@contoso.example', metabaseAccountId: '1', email: null, credentialId: null, source: METABASE },
        summary: 'finding 0',
        firstSeen: '2026-04-02T00:00:00.000Z',
        lastSeen: '2026-04-01T00:00:00.000Z',
        evidence: [{ source: 'metabase-login', id: 'login-0', at: '2026-04-02T00:00:00.000Z' }],
      });
      const first = await f.app.inject({ method: 'GET', url: '/v1/findings', headers: bearer(reader) });
      expect(first.json().correlationRunId).toBe(latest);
      expect(first.json().items).toHaveLength(50);
    });

    it('filters findings by rule, severity, person and last-seen period', async () => {
      const count = async (query: string) => {
        const response = await f.app.inject({ method: 'GET', url: `/v1/findings?limit=500&${query}`, headers: bearer(admin) });
        expect(response.statusCode, response.body).toBe(200);
        return response.json().items as { id: string; rule: string; severity: string; subject: { personId: string }; lastSeen: string }[];
      };
      const sso = await count('rule=sso-bypass');
      expect(sso).toHaveLength(44);
      expect(sso.every((item) => item.rule === 'sso-bypass')).toBe(true);
      expect(await count('severity=low')).toHaveLength(43);
      const bob = await count(`person=${BOB}`);
      expect(bob).toHaveLength(65);
      expect(bob.every((item) => item.subject.personId === BOB)).toBe(true);
      // last_seen = 2026-04-01 + i × 12 h; [04-02, 04-04) holds i = 2..5.
      const window = await count('from=2026-04-02&to=2026-04-04T00:00:00Z');
      expect(window.map((item) => item.id)).toEqual(['f-0002', 'f-0003', 'f-0004', 'f-0005']);
      const combined = await count(`rule=sso-bypass&person=${ADA}&from=2026-04-02`);
      expect(combined.map((item) => item.id).slice(0, 3)).toEqual(['f-0006', 'f-0012', 'f-0018']);
    });

    it("shows a person's linked accounts, findings and recent logins; 404 for an unknown person", async () => {
      const response = await f.app.inject({ method: 'GET', url: `/v1/people/${ADA}`, headers: bearer(admin) });
      expect(response.statusCode, response.body).toBe(200);
      const body = response.json();
      expect(body.upn).toBe('ada@contoso.example');
      expect(body.correlationRunId).toBe(latest);
      expect(body.accounts.map((a: { accountId: number; email: string }) => [a.accountId, a.email])).toEqual([
        [1, 'user1@contoso.example'],
        [3, 'user3@contoso.example'],
      ]);
      expect(body.findings).toHaveLength(65);
      expect(body.recentLogins.map((l: { loginId: string; outcome: string }) => `${l.loginId}:${l.outcome}`)).toEqual([
        'login-2:unexplained',
        'login-1:explained',
        'login-0:explained',
      ]);

      const bob = await f.app.inject({ method: 'GET', url: `/v1/people/${BOB}`, headers: bearer(admin) });
      expect(bob.json().accounts.map((a: { accountId: number }) => a.accountId)).toEqual([2]);
      const unknown = await f.app.inject({ method: 'GET', url: '/v1/people/33333333-3333-4333-8333-333333333333', headers: bearer(admin) });
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().error.code).toBe('NOT_FOUND');
    });

    it('lists accounts with their links and latest e-mail, each exactly once across pages', async () => {
      const { items, pages } = await collectPages(f, admin, '/v1/accounts?limit=3');
      expect(pages).toBe(3);
      expect(items.map((item) => item['accountId'])).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(items[3]).toEqual({
        metabaseSourceId: METABASE,
        accountId: 4,
        email: 'user4@contoso.example',
        active: false,
        linkStatus: 'unmatched',
        personId: null,
        entraSourceId: null,
        linkMethod: null,
        matchedValue: null,
      });
      expect(items[0]).toMatchObject({ personId: ADA, linkStatus: 'linked', active: true });
      const unmatched = await f.app.inject({ method: 'GET', url: '/v1/accounts?status=unmatched', headers: bearer(admin) });
      expect(unmatched.json().items).toHaveLength(4);
    });
  });

  it('reports coverage and the gaps of the last 90 days per source and stream', async () => {
    const collection = createCollectionRepository(f.store.db);
    await collection.upsertSource({ id: ENTRA, kind: 'entra', displayName: 'Contoso' });
    await collection.addCoverage(ENTRA, 'sign-ins', { from: new Date('2026-05-01T00:00:00Z'), to: new Date('2026-06-01T00:00:00Z') }, null);
    await collection.addCoverage(ENTRA, 'sign-ins', { from: new Date('2026-05-20T00:00:00Z'), to: new Date('2026-07-10T00:00:00Z') }, null);
    await collection.addCoverage(ENTRA, 'sign-ins', { from: new Date('2026-07-12T00:00:00Z'), to: NOW }, null);
    const response = await f.app.inject({ method: 'GET', url: '/v1/coverage', headers: bearer(admin) });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json();
    expect(body.gapWindow).toEqual({ from: '2026-04-16T12:00:00.000Z', to: NOW.toISOString() });
    const entra = body.sources.find((s: { sourceId: string }) => s.sourceId === ENTRA);
    expect(entra.streams).toEqual([
      {
        stream: 'sign-ins',
        coverage: [
          { from: '2026-05-01T00:00:00.000Z', to: '2026-07-10T00:00:00.000Z' },
          { from: '2026-07-12T00:00:00.000Z', to: NOW.toISOString() },
        ],
        gaps: [
          { from: '2026-04-16T12:00:00.000Z', to: '2026-05-01T00:00:00.000Z' },
          { from: '2026-07-10T00:00:00.000Z', to: '2026-07-12T00:00:00.000Z' },
        ],
        // Not one of Entra's retained log streams: no deadline.
        freshness: { lastCoveredTo: NOW.toISOString(), retentionDays: null, expiresAt: null, daysLeft: null, status: 'fresh' },
        // Nothing archived out of the store (ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS unset).
        archived: [],
      },
    ]);
  });

  it('starts a collection in the background (202) and records its outcome on the run', async () => {
    const collector = await f.key(['collect:run']);
    const started = await f.app.inject({
      method: 'POST',
      url: '/v1/collections',
      headers: bearer(collector),
      payload: { source: 'entra', since: '2026-07-01' },
    });
    expect(started.statusCode, started.body).toBe(202);
    const { id, location } = started.json();
    expect(started.headers['location']).toBe(location);
    // Nothing is configured, so the Entra collector stops on its first setting.
    let run: { status: string; error: string | null; requested: Record<string, unknown> } | undefined;
    for (let i = 0; i < 100; i++) {
      run = (await f.app.inject({ method: 'GET', url: location, headers: bearer(collector) })).json();
      if (run!.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(run).toMatchObject({ id, status: 'failed', requested: { source: 'entra', since: '2026-07-01T00:00:00.000Z' } });
    expect(run!.error).toMatch(/ENTRA_METABASE_APP_IDS|AZURE_TENANT_ID/);
  });
});
