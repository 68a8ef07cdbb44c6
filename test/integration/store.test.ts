import { readdirSync } from 'node:fs';

import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { verifyChain } from '../../src/store/chain.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { decodeStoredRow, storedRaw } from '../../src/store/record-codec.js';
import { recordHash } from '../../src/store/record-hash.js';
import { eventTables } from '../../src/store/tables.js';
import { engines, openTestStore, type TestStore } from '../support/database.js';
import { signInRecord, userRecord } from '../support/factories.js';

describe.each(engines)('store on %s', (engine) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(engine);
  });
  afterAll(async () => {
    await store?.dispose();
  });

  const source = 'entra:contoso';
  async function addSource() {
    await store.db
      .insertInto('source')
      .values({ id: source, kind: 'entra', display_name: 'Contoso', settings: '{}' })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  it('migrates from empty, and a second migration applies nothing', async () => {
    const again = await migrateToLatest(store.db);
    expect(again.applied).toEqual([]);
    expect(again.current).toBeGreaterThanOrEqual(1);
    // Every file of migrations/ is applied once (numbers may skip: a branch's number can
    // stay unused), and the highest applied is the newest file.
    const files = readdirSync(new URL('../../migrations/', import.meta.url)).filter((name) => /^\d{4}_.*\.sql$/.test(name));
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from schema_migration`.execute(store.db);
    expect(rows[0]!.n).toBe(files.length);
    expect(again.current).toBe(Math.max(...files.map((name) => Number(name.slice(0, 4)))));
  });

  it('upserts a batch idempotently and chains it', async () => {
    await addSource();
    const repo = createEvidenceRepository(store.db);
    const records = Array.from({ length: 120 }, (_, i) =>
      signInRecord({ id: `s-${i}`, at: `2026-0${(i % 3) + 7}-15T10:00:${String(i % 60).padStart(2, '0')}Z` }),
    );
    const first = await repo.writeEvents('entra_sign_in', source, records, { batchRows: 50 });
    expect(first).toMatchObject({ inserted: 120, revised: 0, unchanged: 0 });
    expect(first.batchIds).toHaveLength(3);

    const second = await repo.writeEvents('entra_sign_in', source, records, { batchRows: 50 });
    expect(second).toMatchObject({ inserted: 0, revised: 0, unchanged: 120, batchIds: [] });

    const count = await store.db
      .selectFrom('entra_sign_in')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(120);
    const batches = await store.db.selectFrom('evidence_batch').select('id').execute();
    expect(batches).toHaveLength(3);
    expect(await verifyChain(store.db)).toMatchObject({ intact: true, batches: 3, rows: 120 });
  });

  it('records a revision when upstream republishes a record with new detail', async () => {
    const repo = createEvidenceRepository(store.db);
    const changed = signInRecord({ id: 's-5', at: '2026-09-15T10:00:05Z', extra: { riskState: 'atRisk' } });
    const outcome = await repo.writeEvents('entra_sign_in', source, [changed]);
    expect(outcome).toMatchObject({ inserted: 0, revised: 1 });
    const row = await store.db
      .selectFrom('entra_sign_in')
      .select(['revision', 'raw', 'raw_packed'])
      .where('upstream_id', '=', 's-5')
      .executeTakeFirstOrThrow();
    expect(row.revision).toBe(2);
    expect((storedRaw(row) as { riskState?: string }).riskState).toBe('atRisk');
    const archived = await store.db.selectFrom('evidence_revision').select('upstream_key').execute();
    expect(archived.map((r) => r.upstream_key)).toEqual(['s-5']);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('keeps snapshot versions only when an object changes, and tombstones the missing', async () => {
    const repo = createEvidenceRepository(store.db);
    const t1 = new Date('2026-07-01T00:00:00Z');
    const s1 = await repo.beginSnapshot('entra_user_version', source, t1);
    expect((await s1.write([userRecord('u1', 'Ada@Example.com'), userRecord('u2', 'bob@example.com')])).inserted).toBe(2);
    await s1.finish({ complete: true });

    const t2 = new Date('2026-07-02T00:00:00Z');
    const s2 = await repo.beginSnapshot('entra_user_version', source, t2);
    const w2 = await s2.write([userRecord('u1', 'Ada@Example.com', { accountEnabled: false })]);
    expect(w2).toMatchObject({ inserted: 1, unchanged: 0 });
    expect((await s2.finish({ complete: true })).removed).toBe(1);

    const t3 = new Date('2026-07-03T00:00:00Z');
    const s3 = await repo.beginSnapshot('entra_user_version', source, t3);
    expect((await s3.write([userRecord('u1', 'Ada@Example.com', { accountEnabled: false })])).inserted).toBe(0);
    expect((await s3.finish({ complete: true })).removed).toBe(0);

    const versions = await store.db
      .selectFrom('entra_user_version')
      .select(['upstream_id', 'present', 'account_enabled'])
      .orderBy('upstream_id')
      .orderBy('observed_at')
      .execute();
    expect(versions).toEqual([
      { upstream_id: 'u1', present: true, account_enabled: true },
      { upstream_id: 'u1', present: true, account_enabled: false },
      { upstream_id: 'u2', present: true, account_enabled: true },
      { upstream_id: 'u2', present: false, account_enabled: null },
    ]);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('packs a sign-in: the record comes back as the same JSON value, the repeated columns stay NULL', async () => {
    const repo = createEvidenceRepository(store.db);
    const record = signInRecord({
      id: 'p-1',
      at: '2026-08-01T09:00:00Z',
      extra: {
        correlationId: 'c-1',
        conditionalAccessStatus: 'success',
        location: { city: 'Zürich', geoCoordinates: { latitude: 47.37 } },
        note: 'tab\there\\n',
      },
    });
    const withColumns = { ...record, conditional_access_status: 'success', correlation_id: 'c-1' };
    expect(await repo.writeEvents('entra_sign_in', source, [withColumns])).toMatchObject({ inserted: 1 });
    const { rows } = await sql<Record<string, unknown>>`select * from entra_sign_in where upstream_id = 'p-1'`.execute(store.db);
    const stored = rows[0]!;
    expect(stored['raw']).toBeNull();
    expect(stored['is_interactive']).toBeNull();
    expect(stored['event_types']).toBeNull();
    expect(stored['correlation_id']).toBeNull();
    // The columns queries read are still columns of their own.
    expect(stored).toMatchObject({ user_id: 'u-1', app_id: 'app-1', ip_address: '203.0.113.7', error_code: 0, graph_version: 'beta' });
    const packed = stored['raw_packed'] as Uint8Array;
    expect(packed.byteLength).toBeLessThan(JSON.stringify(record.raw).length);
    const decoded = decodeStoredRow(stored, ['is_interactive', 'event_types', 'conditional_access_status', 'correlation_id']);
    expect(decoded['raw']).toEqual(record.raw);
    expect(decoded).toMatchObject({
      is_interactive: true,
      event_types: ['interactiveUser'],
      conditional_access_status: 'success',
      correlation_id: 'c-1',
    });
    expect((await verifyChain(store.db)).intact).toBe(true);
    // The same record again changes nothing.
    expect(await repo.writeEvents('entra_sign_in', source, [withColumns])).toMatchObject({ inserted: 0, revised: 0, unchanged: 1 });
  });

  it('reads, keeps and revises a row stored before 0012 (raw jsonb, its own columns)', async () => {
    const repo = createEvidenceRepository(store.db);
    const record = signInRecord({ id: 'legacy-1', at: '2026-08-02T09:00:00Z', extra: { correlationId: 'c-9' } });
    const old = { ...record, correlation_id: 'c-9' };
    // What the writer stored before 0012: every column, the record as jsonb, in a batch of the chain.
    // Every normalised column of the table (tables.ts), each in its own column then.
    const columns = eventTables.entra_sign_in.columns.map((column) => column.name);
    const values = columns.map((name) => (old as Record<string, unknown>)[name] ?? null);
    const at = old.occurred_at.toISOString();
    const hash = recordHash(at, values, old.raw);
    const { rows: ids } = await sql<{ id: number }>`select nextval('evidence_batch_id_seq')::int as id`.execute(store.db);
    const batchId = ids[0]!.id;
    await store.db.transaction().execute(async (trx) => {
      const { appendBatch } = await import('../../src/store/chain.js');
      const { contentHash } = await import('../../src/store/record-hash.js');
      await sql`insert into entra_sign_in (source_id, upstream_id, occurred_at, user_id, user_principal_name, app_id, ip_address, error_code, is_interactive, event_types, correlation_id, graph_version, batch_id, record_sha256, raw)
        values (${source}, 'legacy-1', ${at}, 'u-1', 'ada@example.com', 'app-1', '203.0.113.7', 0, true, ${['interactiveUser']}, 'c-9', 'beta', ${batchId}, ${hash}, ${JSON.stringify(old.raw)}::jsonb)`.execute(
        trx,
      );
      await appendBatch(trx, {
        id: batchId,
        sourceId: source,
        targetTable: 'entra_sign_in',
        rowCount: 1,
        contentSha256: contentHash([{ key: 'legacy-1', hash }]),
        runId: null,
      });
    });
    expect((await verifyChain(store.db)).intact).toBe(true);
    // Collected again unchanged: left as it is, in its old form.
    expect(await repo.writeEvents('entra_sign_in', source, [old])).toMatchObject({ inserted: 0, revised: 0, unchanged: 1 });
    let row = (await sql<Record<string, unknown>>`select * from entra_sign_in where upstream_id = 'legacy-1'`.execute(store.db)).rows[0]!;
    expect(row['raw_packed']).toBeNull();
    expect(storedRaw(row)).toEqual(old.raw);
    // Republished with new content: revised into the packed form, the old version archived.
    const changed = { ...old, raw: { ...(old.raw as object), riskState: 'atRisk' } };
    expect(await repo.writeEvents('entra_sign_in', source, [changed])).toMatchObject({ revised: 1 });
    row = (await sql<Record<string, unknown>>`select * from entra_sign_in where upstream_id = 'legacy-1'`.execute(store.db)).rows[0]!;
    expect(row).toMatchObject({ raw: null, correlation_id: null, is_interactive: null, revision: 2 });
    expect(storedRaw(row)).toEqual(changed.raw);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('detects a packed record whose bytes were changed', async () => {
    // One bit flipped in the middle of the compressed record, then flipped back.
    const flip = sql`update entra_sign_in set raw_packed = set_byte(raw_packed, 12, get_byte(raw_packed, 12) # 16) where upstream_id = 'p-1'`;
    await flip.execute(store.db);
    const broken = await verifyChain(store.db);
    expect(broken.intact).toBe(false);
    expect(broken.firstBroken?.table).toBe('entra_sign_in');
    expect(broken.firstBroken?.reason).toMatch(/cannot be read back|no longer matches/);
    await flip.execute(store.db);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('loads text COPY escapes as it is (tabs, newlines, backslashes, quotes, NULL-like text) in columns, arrays and the record', async () => {
    const repo = createEvidenceRepository(store.db);
    const tricky = ['tab\there', 'line\nbreak\r', 'back\\slash \\N', '"quoted", {braced}', 'NULL', '\\.', 'é 東京 🙂'];
    const audit = {
      upstream_id: 'audit\t1',
      occurred_at: new Date('2026-08-03T10:00:00Z'),
      raw: { id: 'audit\t1', activityDisplayName: tricky[0], nested: { list: tricky } },
      activity: tricky.join('|'),
      category: '\\N',
      target_ids: tricky,
    };
    expect(await repo.writeEvents('entra_directory_audit', source, [audit])).toMatchObject({ inserted: 1 });
    const row = await store.db
      .selectFrom('entra_directory_audit')
      .selectAll()
      .where('upstream_id', '=', 'audit\t1')
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({ activity: audit.activity, category: '\\N', target_ids: tricky, raw: audit.raw });
    const signIn = {
      ...signInRecord({ id: 'p-2\\x', at: '2026-08-03T10:00:00Z', extra: { userDisplayName: tricky.join('\t') } }),
      user_principal_name: tricky[2],
    };
    expect(await repo.writeEvents('entra_sign_in', source, [signIn])).toMatchObject({ inserted: 1 });
    const stored = await store.db.selectFrom('entra_sign_in').selectAll().where('upstream_id', '=', 'p-2\\x').executeTakeFirstOrThrow();
    expect(stored.user_principal_name).toBe(tricky[2]);
    expect(storedRaw(stored)).toEqual(signIn.raw);
    expect(await repo.writeEvents('entra_directory_audit', source, [audit])).toMatchObject({ unchanged: 1 });
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('a record that cannot be prepared fails the call while the chunk before it is loading, and nothing of it stays', async () => {
    const repo = createEvidenceRepository(store.db);
    const audit = (id: string, at: Date) => ({ upstream_id: id, occurred_at: at, raw: { id }, activity: 'Update user', target_ids: [] });
    const records = [
      audit('prep-1', new Date('2026-08-04T10:00:00Z')),
      audit('prep-2', new Date('2026-08-04T10:01:00Z')),
      audit('prep-3', new Date('x')),
    ];
    // Chunks of 2: the third record is prepared (and fails) while the first chunk is being loaded.
    await expect(repo.writeEvents('entra_directory_audit', source, records, { batchRows: 2 })).rejects.toThrow(/occurred_at: not a time/);
    const left = await store.db.selectFrom('entra_directory_audit').select('upstream_id').where('upstream_id', 'like', 'prep-%').execute();
    expect(left).toEqual([]);
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('names the first batch whose rows were changed behind its back', async () => {
    const firstBatch = await store.db
      .selectFrom('entra_sign_in')
      .select(['batch_id', 'upstream_id'])
      .where('upstream_id', '=', 's-40')
      .executeTakeFirstOrThrow();
    await sql`update entra_sign_in set ip_address = '198.51.100.1' where upstream_id = 's-40'`.execute(store.db);
    const result = await verifyChain(store.db);
    expect(result.intact).toBe(false);
    expect(result.firstBroken?.batchId).toBe(firstBatch.batch_id);
    expect(result.firstBroken?.reason).toMatch(/no longer matches/);

    await sql`update entra_sign_in set ip_address = '203.0.113.7' where upstream_id = 's-40'`.execute(store.db);
    expect((await verifyChain(store.db)).intact).toBe(true);

    await sql`delete from entra_user_version where upstream_id = 'u2' and present = false`.execute(store.db);
    const afterDelete = await verifyChain(store.db);
    expect(afterDelete.intact).toBe(false);
    expect(afterDelete.firstBroken?.reason).toMatch(/missing/);
  });
});
