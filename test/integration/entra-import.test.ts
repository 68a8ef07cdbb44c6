// Entra exports as they really are, into the evidence tables. Fixtures and the source
// of each file's columns: test/fixtures/imports/README.md.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { importEntraFile, importStreams } from '../../src/collectors/entra/import/index.js';
import { type CollectContext, silentProgress } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import { lifecycleEventsOf, upnChangesOf } from '../../src/correlation/identity/directory-audits.js';
import { createLogger } from '../../src/logger.js';
import { verifyChain } from '../../src/store/chain.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { decodeEventRow } from '../../src/store/record-codec.js';
import { openTestStore, type TestStore } from '../support/database.js';

const fixtures = path.resolve('test/fixtures/imports');
const fixture = (name: string) => path.join(fixtures, name);
const ANN = '0a1b2c3d-0000-4000-8000-00000000a001';
const BOB = '0a1b2c3d-0000-4000-8000-00000000b002';

describe('Entra export imports', () => {
  let store: TestStore;
  let context: CollectContext;
  const sourceId = 'entra:contoso.example';
  const dir = mkdtempSync(path.join(tmpdir(), 'entra-import-'));
  beforeAll(async () => {
    store = await openTestStore('postgres');
    const collection = createCollectionRepository(store.db);
    await collection.upsertSource({ id: sourceId, kind: 'entra', displayName: 'Contoso' });
    context = {
      store,
      evidence: createEvidenceRepository(store.db),
      collection,
      config: parseConfig({}),
      logger: createLogger({ level: 'silent' }),
      runId: await collection.startRun('import', {}),
      progress: silentProgress,
      now: () => new Date('2026-08-01T00:00:00Z'),
    };
  });
  afterAll(async () => {
    await store?.dispose();
  });

  // A stored sign-in with its record and columns through the store's decoder (migration 0012).
  const signIn = async (id: string) =>
    decodeEventRow(
      'entra_sign_in',
      await store.db
        .selectFrom('entra_sign_in')
        .selectAll()
        .where('source_id', '=', sourceId)
        .where('upstream_id', '=', id)
        .executeTakeFirstOrThrow(),
    );
  const quarantined = () =>
    store.db.selectFrom('quarantined_record').select(['stream', 'reason']).where('source_id', '=', sourceId).orderBy('id').execute();
  const counts = async () => ({
    signIns: (
      await store.db
        .selectFrom('entra_sign_in')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
    workload: (
      await store.db
        .selectFrom('entra_workload_sign_in')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
    audits: (
      await store.db
        .selectFrom('entra_directory_audit')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
    batches: (
      await store.db
        .selectFrom('evidence_batch')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
    quarantine: (await quarantined()).length,
    coverage: (
      await store.db
        .selectFrom('coverage_window')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  });

  it('admin center interactive CSV (real 55-column header): labels mapped, absent stays absent, bad rows quarantined with file and line, re-import changes nothing', async () => {
    const file = fixture('InteractiveSignIns_2026-07-01_2026-07-02.csv');
    const summary = await importEntraFile(context, sourceId, file);
    expect(summary).toMatchObject({ stream: 'entra-sign-ins', records: 4, inserted: 4, quarantined: 2 });
    expect(summary.notes.join('\n')).toContain('interactive-sign-ins by the file name');

    const ann = await signIn('5e1d0001-7a6b-4c3d-9e8f-0123456789ab');
    expect(ann).toMatchObject({
      user_id: ANN,
      user_principal_name: 'ann.archer@contoso.example',
      app_id: '11111111-1111-1111-1111-111111111111',
      error_code: 0,
      is_interactive: true,
      event_types: ['interactiveUser'],
      authentication_requirement: 'singleFactorAuthentication', // from "Single-factor authentication"
      conditional_access_status: 'notApplied', // from "Not Applied"
      risk_level_during_sign_in: null, // the download has no risk columns: absent, not "none"
      risk_state: null,
      graph_version: 'import',
    });
    expect(ann.occurred_at.toISOString()).toBe('2026-07-01T08:15:02.000Z');
    const raw = ann.raw as Record<string, unknown>;
    expect(raw['@import']).toMatchObject({
      file: 'InteractiveSignIns_2026-07-01_2026-07-02.csv',
      line: 2,
      row: 1,
      format: 'admin-center-csv',
    });
    expect((raw['@import'] as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((raw['@import'] as { columns: Record<string, string> }).columns).toMatchObject({
      Location: 'Berlin, Berlin, DE',
      Status: 'Success',
    });
    expect((await signIn('5e1d0002-7a6b-4c3d-9e8f-0123456789ab')).authentication_requirement).toBe('multiFactorAuthentication');
    expect((await signIn('5e1d0003-7a6b-4c3d-9e8f-0123456789ab')).error_code).toBe(50126);

    const reasons = (await quarantined()).map((q) => q.reason);
    expect(reasons).toEqual([
      expect.stringMatching(
        /row has 3 fields, the header has 55 \(InteractiveSignIns_2026-07-01_2026-07-02\.csv line 5, sha256 [0-9a-f]{12}\)/,
      ),
      expect.stringMatching(/Date \(UTC\) "2026-02-30T10:00:00Z" is not a date \(InteractiveSignIns_2026-07-01_2026-07-02\.csv line 6/),
    ]);
    // One log only: coverage on the interactive sub-stream, not on all user sign-ins.
    expect(await context.collection.coverageOf(sourceId, importStreams.interactiveSignIns)).toEqual([
      { from: new Date('2026-07-01T08:15:02Z'), to: new Date('2026-07-01T17:59:30Z') },
    ]);
    expect(await context.collection.coverageOf(sourceId, 'entra-sign-ins')).toEqual([]);

    const before = await counts();
    const again = await importEntraFile(context, sourceId, file);
    expect(again).toMatchObject({ records: 4, inserted: 0, revised: 0, quarantined: 2 });
    expect(await counts()).toEqual(before);

    // The same file under another path and name is the same evidence: nothing changes but provenance.
    const copy = path.join(dir, 'InteractiveSignIns_copy.csv');
    copyFileSync(file, copy);
    const copied = await importEntraFile(context, sourceId, copy);
    expect(copied).toMatchObject({ inserted: 0, revised: 4 });
  });

  it('the non-interactive download of the same span completes the user sign-in coverage where both overlap', async () => {
    const summary = await importEntraFile(context, sourceId, fixture('NonInteractiveSignIns_2026-07-01_2026-07-02.csv'));
    expect(summary).toMatchObject({ records: 2, inserted: 2 });
    const row = await signIn('5e1d0021-7a6b-4c3d-9e8f-0123456789ab');
    expect(row).toMatchObject({ is_interactive: false, event_types: ['nonInteractiveUser'] });
    expect(await context.collection.coverageOf(sourceId, 'entra-sign-ins')).toEqual([
      { from: new Date('2026-07-01T08:15:02Z'), to: new Date('2026-07-01T17:59:30Z') },
    ]);
  });

  it('admin center audit CSV (no id column): ids derived from content, targets and modified properties rebuilt, so disables and UPN renames reach the correlator as Graph records would', async () => {
    const file = fixture('AuditLogs_2026-07-02.csv');
    const summary = await importEntraFile(context, sourceId, file);
    expect(summary).toMatchObject({ stream: 'entra-directory-audits', records: 4, inserted: 4, quarantined: 0 });
    const rows = await store.db
      .selectFrom('entra_directory_audit')
      .selectAll()
      .where('source_id', '=', sourceId)
      .orderBy('occurred_at')
      .execute();
    expect(rows.map((r) => r.upstream_id)).toEqual(rows.map(() => expect.stringMatching(/^csv-[0-9a-f]{32}$/)));
    expect(rows.map((r) => [r.activity, r.result, r.initiated_by_user_id, r.target_ids])).toEqual([
      ['Disable account', 'success', '0a1b2c3d-0000-4000-8000-0000000ad111', [ANN]],
      ['Update user', 'success', '0a1b2c3d-0000-4000-8000-0000000ad111', [BOB]],
      ['Add member to group', 'success', '0a1b2c3d-0000-4000-8000-0000000ad111', [BOB, '22222222-2222-2222-2222-222222222222']],
      ['Update service principal', 'success', null, ['7c6b5a49-0000-4000-8000-0000000005b1']],
    ]);
    const audit = (r: (typeof rows)[number]) => ({
      upstreamId: r.upstream_id,
      occurredAt: r.occurred_at,
      activity: r.activity,
      result: r.result,
      raw: r.raw,
    });
    expect(rows.flatMap((r) => lifecycleEventsOf(audit(r)))).toEqual([
      {
        personId: ANN,
        at: new Date('2026-07-02T09:00:00.123Z'),
        kind: 'disable',
        auditId: rows[0]!.upstream_id,
        activity: 'Disable account',
      },
    ]);
    expect(rows.flatMap((r) => upnChangesOf(audit(r)))).toEqual([
      {
        personId: BOB,
        at: new Date('2026-07-02T10:30:00.5Z'),
        oldUpn: 'bob.baker@contoso.example',
        newUpn: 'robert.baker@contoso.example',
        auditId: rows[1]!.upstream_id,
      },
    ]);
    // The same facts as the Graph directoryAudit of the event would give.
    const graph = {
      targetResources: [
        { id: ANN, type: 'User', modifiedProperties: [{ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' }] },
      ],
    };
    expect(
      lifecycleEventsOf({ upstreamId: 'x', occurredAt: rows[0]!.occurred_at, activity: 'Update user', result: 'success', raw: graph })[0]
        ?.kind,
    ).toBe('disable');
    expect((rows[3]!.raw as { initiatedBy: unknown }).initiatedBy).toEqual({
      app: { servicePrincipalId: '5a5a5a5a-0000-4000-8000-000000000000', displayName: 'Microsoft Graph' },
    });

    const ids = rows.map((r) => r.upstream_id);
    expect(await importEntraFile(context, sourceId, file)).toMatchObject({ inserted: 0, revised: 0 });
    const after = await store.db
      .selectFrom('entra_directory_audit')
      .select('upstream_id')
      .where('source_id', '=', sourceId)
      .orderBy('occurred_at')
      .execute();
    expect(after.map((r) => r.upstream_id)).toEqual(ids);
  });

  it('Log Analytics SigninLogs CSV: "[UTC]" headers, US dates, dynamic columns as text, risk kept', async () => {
    const summary = await importEntraFile(context, sourceId, fixture('SigninLogs_2026-07-04.csv'));
    expect(summary).toMatchObject({ stream: 'entra-sign-ins', records: 3, inserted: 3, quarantined: 0 });
    const ann = await signIn('la0001-7a6b-4c3d-9e8f-0123456789ab');
    expect(ann).toMatchObject({
      error_code: 0,
      is_interactive: true,
      authentication_requirement: 'singleFactorAuthentication',
      risk_level_during_sign_in: 'medium',
      risk_state: 'atRisk',
      conditional_access_status: 'notApplied',
    });
    expect(ann.occurred_at.toISOString()).toBe('2026-07-04T09:00:00.000Z');
    expect((ann.raw as { deviceDetail: unknown }).deviceDetail).toEqual({
      deviceId: '',
      operatingSystem: 'Windows10',
      browser: 'Chrome 126.0.0',
    });
    const pm = await signIn('la0002-7a6b-4c3d-9e8f-0123456789ab');
    expect(pm.occurred_at.toISOString()).toBe('2026-07-04T15:37:27.000Z');
    const failed = await signIn('la0003-7a6b-4c3d-9e8f-0123456789ab');
    expect([failed.error_code, failed.occurred_at.toISOString()]).toEqual([50126, '2026-07-04T12:05:10.250Z']);
  });

  it('Log Analytics AADNonInteractiveUserSignInLogs JSON (PascalCase, dynamic columns as strings)', async () => {
    const summary = await importEntraFile(context, sourceId, fixture('AADNonInteractiveUserSignInLogs_2026-07-04.json'));
    expect(summary).toMatchObject({ records: 2, inserted: 2 });
    const row = await signIn('ni0001-7a6b-4c3d-9e8f-0123456789ab');
    expect(row).toMatchObject({
      is_interactive: false,
      error_code: 0,
      user_id: ANN,
      authentication_requirement: 'singleFactorAuthentication',
      risk_level_during_sign_in: 'none',
    });
    expect((row.raw as { status: unknown }).status).toMatchObject({ errorCode: 0 });
    expect(row.occurred_at.toISOString()).toBe('2026-07-04T06:00:00.123Z');
  });

  it('Log Analytics AuditLogs JSON (dynamic columns as objects and as text) feed the correlator', async () => {
    const summary = await importEntraFile(context, sourceId, fixture('AuditLogs_2026-07-05.json'));
    expect(summary).toMatchObject({ stream: 'entra-directory-audits', records: 2, inserted: 2 });
    const rows = await store.db
      .selectFrom('entra_directory_audit')
      .selectAll()
      .where('upstream_id', 'in', ['Directory_BB000001_LA1', 'Directory_BB000002_LA2'])
      .orderBy('occurred_at')
      .execute();
    const audit = (r: (typeof rows)[number]) => ({
      upstreamId: r.upstream_id,
      occurredAt: r.occurred_at,
      activity: r.activity,
      result: r.result,
      raw: r.raw,
    });
    expect(rows.map((r) => [r.initiated_by_user_id, r.target_ids, r.operation_type])).toEqual([
      ['0a1b2c3d-0000-4000-8000-0000000ad111', [ANN], 'Update'],
      ['0a1b2c3d-0000-4000-8000-0000000ad111', [BOB], 'Update'],
    ]);
    expect(rows.flatMap((r) => lifecycleEventsOf(audit(r))).map((e) => [e.personId, e.kind])).toEqual([[ANN, 'disable']]);
    expect(rows.flatMap((r) => upnChangesOf(audit(r))).map((c) => [c.personId, c.oldUpn])).toEqual([[BOB, 'bob.baker@contoso.example']]);
  });

  it('admin center JSON download (Graph shape) imports as interactive user sign-ins', async () => {
    const summary = await importEntraFile(context, sourceId, fixture('InteractiveSignIns_2026-07-06.json'));
    expect(summary).toMatchObject({ records: 1, inserted: 1 });
    expect(await signIn('gj000001-7a6b-4c3d-9e8f-0123456789ab')).toMatchObject({
      is_interactive: true,
      risk_level_during_sign_in: 'none',
      authentication_requirement: 'singleFactorAuthentication',
    });
  });

  it('service principal sign-ins go to their own table, never to user sign-ins; a --kind that contradicts the columns is refused', async () => {
    const before = await counts();
    const file = fixture('ApplicationSignIns_2026-07-01_2026-07-02.csv');
    await expect(importEntraFile(context, sourceId, file, { kind: 'entra-interactive-sign-ins' })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringContaining(
        "the requested kind entra-interactive-sign-ins contradicts the file's columns: it holds service principal / managed identity sign-ins",
      ),
    });
    await expect(importEntraFile(context, sourceId, file, { kind: 'entra-sign-ins' })).rejects.toMatchObject({ code: 'INPUT_INVALID' });
    expect(await counts()).toEqual(before);

    const summary = await importEntraFile(context, sourceId, file);
    expect(summary).toMatchObject({ stream: 'entra-workload-sign-ins', records: 2, inserted: 2 });
    const la = await importEntraFile(context, sourceId, fixture('AADServicePrincipalSignInLogs_2026-07-04.csv'));
    expect(la).toMatchObject({ records: 1, inserted: 1 });
    const rows = (await store.db.selectFrom('entra_workload_sign_in').selectAll().orderBy('occurred_at').execute()).map((r) =>
      decodeEventRow('entra_workload_sign_in', r),
    );
    expect(rows.map((r) => [r.workload_kind, r.service_principal_id, r.error_code, r.client_credential_type, r.credential_key_id])).toEqual(
      [
        ['servicePrincipal', '7c6b5a49-0000-4000-8000-0000000005b1', 0, 'clientSecret', '0b0b0b0b-0000-4000-8000-00000000c0de'],
        ['servicePrincipal', '7c6b5a49-0000-4000-8000-0000000005b1', 7000215, 'clientSecret', null],
        ['servicePrincipal', '7c6b5a49-0000-4000-8000-0000000005b1', 0, 'clientSecret', '0b0b0b0b-0000-4000-8000-00000000c0de'],
      ],
    );
    expect((await counts()).signIns).toEqual(before.signIns);
  });

  it('a Graph JSON download of service principal sign-ins (user fields empty) is told by signInEventTypes and kept out of user sign-ins', async () => {
    const file = path.join(dir, 'ServicePrincipalSignIns.json');
    const record = {
      id: 'spj-1',
      createdDateTime: '2026-07-08T10:00:00Z',
      userId: '',
      userPrincipalName: '',
      userDisplayName: '',
      appId: 'app-x',
      servicePrincipalId: 'sp-x',
      servicePrincipalName: 'robot',
      signInEventTypes: ['servicePrincipal'],
      status: { errorCode: 0 },
    };
    writeFileSync(file, JSON.stringify([record, { ...record, id: 'spj-2' }]));
    const before = (await counts()).signIns;
    await expect(importEntraFile(context, sourceId, file, { kind: 'entra-sign-ins' })).rejects.toMatchObject({
      message: expect.stringContaining('it holds service principal / managed identity sign-ins'),
    });
    expect(await importEntraFile(context, sourceId, file)).toMatchObject({ stream: 'entra-workload-sign-ins', records: 2 });
    expect((await counts()).signIns).toBe(before);
  });

  it('a file of the wrong kind is refused with the reason, and stores nothing', async () => {
    const before = await counts();
    const metabase = path.join(dir, 'query-log.csv');
    writeFileSync(
      metabase,
      'Entity ID,Started At,Running Time Seconds,Result Rows,Is Native,Query Source,User ID,Card ID,Dashboard ID,Database ID,Error\n101,2026-03-01T09:00:00Z,1.5,10,false,question,2,7,,2,\n',
    );
    await expect(importEntraFile(context, sourceId, metabase)).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringContaining('query-log.csv: not an Entra export accesstrail reads'),
    });
    await expect(importEntraFile(context, sourceId, fixture('AuditLogs_2026-07-02.csv'), { kind: 'entra-sign-ins' })).rejects.toMatchObject(
      {
        message: expect.stringContaining('it holds audit logs'),
      },
    );
    await expect(
      importEntraFile(context, sourceId, fixture('SigninLogs_2026-07-04.csv'), { kind: 'entra-non-interactive-sign-ins' }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('its records are interactive-sign-ins'),
    });
    expect(await counts()).toEqual(before);
  });

  it('JSON: a broken record is quarantined with its line; a file cut short keeps what came before and says where', async () => {
    const file = path.join(dir, 'SignIns.json');
    writeFileSync(
      file,
      '[\n{"id":"j1","createdDateTime":"2026-07-07T10:00:00Z","userId":"u1","userPrincipalName":"x@contoso.example","isInteractive":true,"status":{"errorCode":0}},\n{"id":"j2","createdDateTime":tru},\n"just text",\n{"id":"j3","createdDateTime":"2026-07-07T11:00:00Z","userId":"u1","isInteractive":true,"status":{"errorCode":0}}\n]\n',
    );
    const summary = await importEntraFile(context, sourceId, file);
    expect(summary).toMatchObject({ records: 2, quarantined: 2 });
    const reasons = (await quarantined()).map((q) => q.reason).filter((r) => r.includes('SignIns.json'));
    expect(reasons).toEqual([
      expect.stringMatching(/^not valid JSON: .*\(SignIns\.json line 3,/),
      expect.stringMatching(/^a record that is not a JSON object \(SignIns\.json line 4,/),
    ]);

    const cut = path.join(dir, 'Cut.json');
    writeFileSync(
      cut,
      '[{"id":"c1","createdDateTime":"2026-07-07T12:00:00Z","userId":"u1","isInteractive":true,"status":{"errorCode":0}},\n{"id":"c2","createdDateTime":"2026-07-',
    );
    await expect(importEntraFile(context, sourceId, cut)).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: expect.stringContaining(
        'Cut.json is not a readable JSON export (line 2): the file ends inside a record that starts on line 2',
      ),
    });
    expect(await signIn('c1')).toMatchObject({ user_id: 'u1' });
  });

  it('a header-only download is an empty export, not an error; a file with no readable row is refused', async () => {
    const empty = path.join(dir, 'InteractiveSignIns_quiet-day.csv');
    writeFileSync(empty, '"Date (UTC)","Request ID","User ID","Username","Application ID "\r\n');
    expect(await importEntraFile(context, sourceId, empty)).toMatchObject({ stream: 'entra-sign-ins', records: 0, coverage: [] });
    const none = path.join(dir, 'Nothing.json');
    writeFileSync(none, '[]');
    await expect(importEntraFile(context, sourceId, none)).rejects.toMatchObject({
      code: 'INPUT_INVALID',
      message: 'Nothing.json holds no readable records',
    });
  });

  it("a Log Analytics export that unions SigninLogs and AADNonInteractiveUserSignInLogs keeps each row's log and covers user sign-ins directly", async () => {
    // Two rows of the SigninLogs fixture, the second relabelled as the other table.
    const lines = readFileSync(fixture('SigninLogs_2026-07-04.csv'), 'utf8').split('\r\n');
    const second = lines[2]!
      .replace('"SigninLogs"', '"AADNonInteractiveUserSignInLogs"')
      .replace('"SignInLogs"', '"NonInteractiveUserSignInLogs"')
      .replace(/la0002-7a6b-4c3d-9e8f-0123456789ab/g, 'union-ni-1');
    const file = path.join(dir, 'union.csv');
    writeFileSync(file, [lines[0], lines[1]!.replace(/la0001/g, 'union-i-1'), second].join('\r\n') + '\r\n');
    const summary = await importEntraFile(context, sourceId, file);
    expect(summary).toMatchObject({ records: 2, quarantined: 0 });
    expect([(await signIn('union-i-1-7a6b-4c3d-9e8f-0123456789ab')).is_interactive, (await signIn('union-ni-1')).is_interactive]).toEqual([
      true,
      false,
    ]);
    expect(summary.notes.join('\n')).toContain('coverage claimed on entra-sign-ins: ');
  });

  it("managed identity sign-ins are told by file name or --kind; an admin center JSON audit download keeps Graph's ids", async () => {
    const msi = path.join(dir, 'MSISignIns_2026-07-09.csv');
    writeFileSync(msi, readFileSync(fixture('ApplicationSignIns_2026-07-01_2026-07-02.csv'), 'utf8').replace(/sp-000/g, 'mi-000'));
    expect(await importEntraFile(context, sourceId, msi)).toMatchObject({ stream: 'entra-workload-sign-ins', records: 2 });
    const unnamed = path.join(dir, 'workload.csv');
    writeFileSync(unnamed, readFileSync(fixture('ApplicationSignIns_2026-07-01_2026-07-02.csv'), 'utf8').replace(/sp-000/g, 'wl-000'));
    await expect(importEntraFile(context, sourceId, unnamed)).rejects.toMatchObject({
      message: expect.stringContaining('name the kind: entra-service-principal-sign-ins or entra-managed-identity-sign-ins'),
    });
    expect(await importEntraFile(context, sourceId, unnamed, { kind: 'entra-managed-identity-sign-ins' })).toMatchObject({ records: 2 });
    const kinds = await store.db
      .selectFrom('entra_workload_sign_in')
      .select(['upstream_id', 'workload_kind'])
      .where('upstream_id', 'like', 'mi-%')
      .orderBy('upstream_id')
      .execute();
    expect(kinds.map((k) => k.workload_kind)).toEqual(['managedIdentity', 'managedIdentity']);

    const audits = path.join(dir, 'AuditLogs_2026-07-10.json');
    writeFileSync(
      audits,
      JSON.stringify([
        {
          id: 'Directory_GJ1',
          category: 'UserManagement',
          correlationId: 'c',
          result: 'success',
          activityDisplayName: 'Disable account',
          activityDateTime: '2026-07-10T08:00:00Z',
          loggedByService: 'Core Directory',
          operationType: 'Update',
          initiatedBy: { user: { id: 'admin' } },
          targetResources: [{ id: ANN, type: 'User', modifiedProperties: [] }],
        },
      ]),
    );
    expect(await importEntraFile(context, sourceId, audits)).toMatchObject({ stream: 'entra-directory-audits', records: 1 });
    const row = await store.db
      .selectFrom('entra_directory_audit')
      .selectAll()
      .where('upstream_id', '=', 'Directory_GJ1')
      .executeTakeFirstOrThrow();
    expect([row.activity, row.initiated_by_user_id, row.target_ids, row.operation_type]).toEqual([
      'Disable account',
      'admin',
      [ANN],
      'Update',
    ]);
  });

  it('every imported batch, workload sign-ins included, is on the hash chain and verifies', async () => {
    expect(await verifyChain(store.db)).toMatchObject({ intact: true });
  });
});
