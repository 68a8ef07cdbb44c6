// `accesstrail repack`: rows stored before migration 0012 (raw jsonb, every column of
// their own) rewritten in the packed form, on both engines. The old rows are made the
// way 0012 describes them: written by the writer, then turned back into the old form
// (raw jsonb, the packed columns filled, raw_packed NULL) with the same hash, which is
// what a store that collected before 0012 holds. The evidence must not change: the same
// records, the same columns, the same hashes, an intact chain, no revision archived.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { storedRowHash, verifyChain } from '../../src/store/chain.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { decodeEventRow } from '../../src/store/record-codec.js';
import { repackRecords } from '../../src/store/repack.js';
import { type EventRecord, eventTables } from '../../src/store/tables.js';
import { engines, openTestStore, postgresAvailable, type TestStore } from '../support/database.js';
import { signInRecord } from '../support/factories.js';

const ENTRA = 'entra:repack';
const METABASE = 'metabase:repack';

function loginRecord(i: number): EventRecord {
  const raw = {
    id: 9000 + i,
    user_id: 40 + (i % 3),
    timestamp: `2026-08-0${(i % 5) + 1}T08:00:0${i % 10}Z`,
    device_id: `dev-${i}`,
    ip_address: '198.51.100.4',
  };
  return {
    upstream_id: String(raw.id),
    occurred_at: new Date(raw.timestamp),
    raw,
    user_id: raw.user_id,
    ip_address: raw.ip_address,
    device_id: raw.device_id,
    session_key: null,
  };
}

type Row = Record<string, unknown>;

/** Every row of `table` decoded (record and columns as the writer meant them), by key. */
async function decodedRows(store: TestStore, table: 'entra_sign_in' | 'metabase_login'): Promise<Map<string, Row>> {
  const { rows } = await sql<Row>`select * from ${sql.table(table)} order by upstream_id`.execute(store.db);
  return new Map(
    rows.map((row) => {
      const decoded = decodeEventRow(table, row);
      delete decoded['raw_packed'];
      return [String(row['upstream_id']), decoded];
    }),
  );
}

/** Turns the packed rows of `table` back into the form a store written before 0012 holds. */
async function toOldForm(store: TestStore, table: 'entra_sign_in' | 'metabase_login'): Promise<void> {
  const packed = eventTables[table].packed!.columns;
  for (const [id, row] of await decodedRows(store, table)) {
    const sets = packed.map((name) => sql`${sql.ref(name)} = ${row[name] ?? null}`);
    await sql`update ${sql.table(table)} set raw = ${JSON.stringify(row['raw'])}::jsonb, raw_packed = null, ${sql.join(sets)}
      where upstream_id = ${id}`.execute(store.db);
  }
}

/** A Postgres store holding three sign-ins (a, b, c) in the form a store written before 0012 holds. */
async function storeWithOldSignIns(): Promise<TestStore> {
  const store = await openTestStore('postgres');
  await store.db.insertInto('source').values({ id: ENTRA, kind: 'entra', display_name: 'Entra', settings: '{}' }).execute();
  await createEvidenceRepository(store.db).writeEvents(
    'entra_sign_in',
    ENTRA,
    ['a', 'b', 'c'].map((id, i) => signInRecord({ id, at: `2026-06-0${i + 1}T10:00:00Z` })),
  );
  await toOldForm(store, 'entra_sign_in');
  return store;
}

describe.each(engines)('repack on %s', (engine) => {
  let store: TestStore;
  let before: { signIns: Map<string, Row>; logins: Map<string, Row> };

  beforeAll(async () => {
    store = await openTestStore(engine);
    await store.db
      .insertInto('source')
      .values([
        { id: ENTRA, kind: 'entra', display_name: 'Entra', settings: '{}' },
        { id: METABASE, kind: 'metabase', display_name: 'Metabase', settings: '{}' },
      ])
      .execute();
    const repository = createEvidenceRepository(store.db);
    const signIns = Array.from({ length: 11 }, (_, i) =>
      signInRecord({
        id: `s-${String(i).padStart(2, '0')}`,
        at: `2026-0${(i % 3) + 6}-15T10:00:${String(i).padStart(2, '0')}Z`,
        extra: { correlationId: `corr-${i}`, conditionalAccessStatus: 'success' },
      }),
    ).map((record) => ({ ...record, correlation_id: `corr-${record.upstream_id}`, conditional_access_status: 'success' }));
    await repository.writeEvents('entra_sign_in', ENTRA, signIns);
    await repository.writeEvents(
      'metabase_login',
      METABASE,
      Array.from({ length: 7 }, (_, i) => loginRecord(i)),
    );
    await toOldForm(store, 'entra_sign_in');
    await toOldForm(store, 'metabase_login');
    before = { signIns: await decodedRows(store, 'entra_sign_in'), logins: await decodedRows(store, 'metabase_login') };
  });
  afterAll(async () => {
    await store?.dispose();
  });

  const oldRows = async (table: string) =>
    Number(
      (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where raw is not null`.execute(store.db)).rows[0]!.n,
    );
  const revisions = async () =>
    Number((await sql<{ n: number }>`select count(*)::int as n from evidence_revision`.execute(store.db)).rows[0]!.n);

  it('starts from rows in the old form, with an intact chain', async () => {
    expect(await oldRows('entra_sign_in')).toBe(11);
    expect(await oldRows('metabase_login')).toBe(7);
    const row = (await sql<Row>`select * from entra_sign_in where upstream_id = 's-01'`.execute(store.db)).rows[0]!;
    expect(row['raw_packed']).toBeNull();
    expect(row['correlation_id']).toBe('corr-s-01');
    expect((await verifyChain(store.db)).intact).toBe(true);
  });

  it('counts them on a dry run and changes nothing', async () => {
    const outcomes = await repackRecords(store.db, { dryRun: true });
    expect(Object.fromEntries(outcomes.map((o) => [o.table, o.found]))).toMatchObject({ entra_sign_in: 11, metabase_login: 7 });
    expect(outcomes.every((o) => o.repacked === 0)).toBe(true);
    expect(await oldRows('entra_sign_in')).toBe(11);
  });

  it('repacks in batches: the same records, columns and hashes, the chain intact, no revision', async () => {
    const revisionsBefore = await revisions();
    const outcomes = await repackRecords(store.db, { batchSize: 3 });
    const byTable = Object.fromEntries(outcomes.map((o) => [o.table, o]));
    expect(byTable['entra_sign_in']).toMatchObject({ found: 11, repacked: 11, mismatched: 0, skipped: 0 });
    expect(byTable['metabase_login']).toMatchObject({ found: 7, repacked: 7, mismatched: 0, skipped: 0 });
    // Smaller rows (these records are small; bench/repack.ts measures a real-sized sign-in).
    expect(byTable['entra_sign_in']!.rowBytesAfter).toBeLessThan(byTable['entra_sign_in']!.rowBytesBefore);
    expect(await oldRows('entra_sign_in')).toBe(0);
    expect(await oldRows('metabase_login')).toBe(0);
    // Stored packed now: raw NULL, the packed columns NULL, raw_packed set.
    const row = (await sql<Row>`select * from entra_sign_in where upstream_id = 's-01'`.execute(store.db)).rows[0]!;
    expect(row['raw']).toBeNull();
    expect(row['correlation_id']).toBeNull();
    expect(row['raw_packed']).not.toBeNull();
    // Decoded, every row is what it was, hash included.
    expect(await decodedRows(store, 'entra_sign_in')).toEqual(before.signIns);
    expect(await decodedRows(store, 'metabase_login')).toEqual(before.logins);
    expect((await verifyChain(store.db)).intact).toBe(true);
    expect(await revisions()).toBe(revisionsBefore);
    // A second run finds nothing left.
    expect((await repackRecords(store.db)).every((o) => o.found === 0)).toBe(true);
  });

  it('leaves a row whose hash does not match as it is, for verify --store to name', async () => {
    const record = signInRecord({ id: 's-tampered', at: '2026-07-20T10:00:00Z' });
    await createEvidenceRepository(store.db).writeEvents('entra_sign_in', ENTRA, [record]);
    await toOldForm(store, 'entra_sign_in');
    // Changed in place after it was stored (the hash no longer covers it).
    await sql`update entra_sign_in set raw = jsonb_set(raw, '{ipAddress}', '"192.0.2.66"') where upstream_id = 's-tampered'`.execute(
      store.db,
    );
    const outcomes = await repackRecords(store.db);
    const signIns = outcomes.find((o) => o.table === 'entra_sign_in')!;
    expect(signIns).toMatchObject({ mismatched: 1 });
    expect(await oldRows('entra_sign_in')).toBe(signIns.mismatched);
    expect((await verifyChain(store.db)).intact).toBe(false);
  });
});

describe.runIf(await postgresAvailable())('accesstrail repack, as an operator runs it', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await storeWithOldSignIns();
  });
  afterAll(async () => {
    await store?.dispose();
  });

  const cli = async (args: string[]) => {
    const env = { PATH: process.env['PATH'] ?? '', DATABASE_URL: store.url!, ACCESSTRAIL_LOG_LEVEL: 'silent' };
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [path.resolve('bin/accesstrail.js'), ...args], { env });
      return { code: 0, stdout };
    } catch (error) {
      return { code: (error as { code: number }).code, stdout: (error as { stdout: string }).stdout };
    }
  };

  it('counts on --dry-run, repacks, and the store still verifies', async () => {
    const dry = await cli(['repack', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^entra_sign_in: 3 rows in the old form/m);
    expect(dry.stdout).toMatch(/^metabase_login: 0 rows in the old form/m);
    const done = await cli(['repack']);
    expect(done.code, done.stdout).toBe(0);
    expect(done.stdout).toMatch(
      /^entra_sign_in: 3 of 3 rows repacked; they took [\d.]+ KB, now [\d.]+ KB \(the table's files: [\d.]+ [KM]B\)/m,
    );
    expect(done.stdout).toMatch(/^metabase_view: nothing to repack/m);
    expect((await cli(['verify', '--store'])).code).toBe(0);
  });
});

describe.runIf(await postgresAvailable())('repack while a collection revises a row', () => {
  let store: TestStore;
  beforeAll(async () => {
    store = await storeWithOldSignIns();
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('leaves the row revised between its read and its write as the revision wrote it, and takes it on the next run', async () => {
    // The revision as a collection would store it: a changed record and its own hash,
    // written in a transaction that holds the row while repack reads the old version and
    // then waits to write it (READ COMMITTED: the update re-checks its condition on the
    // committed revision, whose hash is no longer the one repack read).
    const stored = (await sql<Row>`select * from entra_sign_in where upstream_id = 'b'`.execute(store.db)).rows[0]!;
    const revised = { ...stored, raw: { ...(stored['raw'] as Row), ipAddress: '192.0.2.7' } };
    const revisedHash = storedRowHash(eventTables.entra_sign_in, revised).hash;
    expect(revisedHash).not.toBe(stored['record_sha256']);
    const collection = new pg.Client({ connectionString: store.url! });
    await collection.connect();
    let repacking: ReturnType<typeof repackRecords> | undefined;
    try {
      await collection.query('begin');
      await collection.query(`update entra_sign_in set raw = $1::jsonb, record_sha256 = $2 where upstream_id = 'b'`, [
        JSON.stringify(revised.raw),
        revisedHash,
      ]);
      repacking = repackRecords(store.db, { vacuum: false });
      // Until repack's update waits for the revision's row lock.
      for (let waited = 0; ; waited += 20) {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'
            and query ilike '%update "entra_sign_in"%'`.execute(store.db);
        if (rows[0]!.n > 0) break;
        if (waited > 10_000) throw new Error('repack never waited for the revised row');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await collection.query('commit');
      const signIns = (await repacking).find((o) => o.table === 'entra_sign_in')!;
      expect(signIns).toMatchObject({ found: 3, repacked: 2, mismatched: 0, skipped: 1 });
    } finally {
      // On a failure above, ending the connection rolls the revision back and frees repack.
      await collection.end();
      await repacking?.catch(() => undefined);
    }
    const row = (await sql<Row>`select * from entra_sign_in where upstream_id = 'b'`.execute(store.db)).rows[0]!;
    expect(row['raw_packed']).toBeNull();
    expect(row['record_sha256']).toBe(revisedHash);
    expect((row['raw'] as Row)['ipAddress']).toBe('192.0.2.7');
    // The revision is a row in the old form with a hash that covers it: the next run packs it.
    const next = (await repackRecords(store.db, { vacuum: false })).find((o) => o.table === 'entra_sign_in')!;
    expect(next).toMatchObject({ found: 1, repacked: 1, skipped: 0 });
    expect(await decodedRows(store, 'entra_sign_in').then((rows) => (rows.get('b')!['raw'] as Row)['ipAddress'])).toBe('192.0.2.7');
  });
});
