// Malformed upstream records, from both sources, through `accesstrail collect` as a
// process: missing fields, wrong types, invalid dates, unknown enum values, 1 MB strings,
// lone surrogates (invalid UTF-16, what invalid UTF-8 becomes once decoded), and NUL
// characters (Postgres jsonb refuses \u0000). The run must not crash; every such record
// is either stored intact (verifiable) or quarantined with a reason naming the problem,
// never dropped silently; the counts are printed; and the hash chain still verifies.
import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { GraphObject } from '../../src/emulators/entra/index.js';
import { SAMPLE_METABASE_APP_ID } from '../../src/emulators/entra/sample.js';
import { createMetabaseAppDatabase, generateMetabaseDataset } from '../../src/emulators/metabase/index.js';
import { verifyChain } from '../../src/store/chain.js';
import { openStore, type Store } from '../../src/store/database.js';
import { storedRaw } from '../../src/store/record-codec.js';
import { type AppDatabase, createAppDatabase } from '../integration/metabase-helpers.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/database.js';
import { collectArgs, type Outcome, runCli, startUpstreams, type Upstreams } from './harness.js';

const MB = 'x'.repeat(1024 * 1024);

/** Hostile sign-ins: each a valid one with one thing wrong (ids say what). */
function hostileSignIns(template: GraphObject): GraphObject[] {
  const base = (id: string, change: Record<string, unknown>): GraphObject => ({ ...structuredClone(template), id, ...change });
  const withoutId = structuredClone(template);
  delete withoutId['id'];
  const withoutTime = base('bad-missing-time', {});
  delete withoutTime['createdDateTime'];
  return [
    withoutId,
    withoutTime,
    base('bad-time-type', { createdDateTime: 1_700_000_000 }),
    base('bad-invalid-date', { createdDateTime: '2026-02-30T25:61:00Z' }),
    base('bad-status-type', { status: 'failed' }),
    base('bad-user-type', { userId: 42, userPrincipalName: ['a', 'b'] }),
    base('bad-unknown-enum', {
      riskLevelDuringSignIn: 'apocalyptic',
      conditionalAccessStatus: 'maybe',
      authenticationRequirement: 'telepathy',
    }),
    base('bad-megabyte', { userDisplayName: MB }),
    base('bad-lone-surrogate', { userDisplayName: 'Ann\ud800e' }),
    base('bad-nul', { userDisplayName: 'Ann\u0000e' }),
    base('bad-nul-key', { ['location\u0000']: { city: 'x' } }),
  ];
}

async function quarantined(store: Store, stream: RegExp): Promise<Array<{ upstream_id: string | null; reason: string; stream: string }>> {
  const { rows } = await sql<{
    upstream_id: string | null;
    reason: string;
    stream: string;
  }>`select upstream_id, reason, stream from quarantined_record order by id`.execute(store.db);
  return rows.filter((r) => stream.test(r.stream));
}

function expectNoCrash(outcome: Outcome): void {
  expect(outcome.signal).toBeNull();
  expect(outcome.stderr, outcome.stderr).not.toMatch(/\n\s+at |node:internal|unexpected failure/);
}

describe.runIf(await postgresAvailable())('bad upstream input is stored or quarantined with a reason, never lost, never a crash', () => {
  let upstreams: Upstreams;
  let database: TestDatabase;
  let store: Store;
  let outcome: Outcome;
  let mariadb: AppDatabase;
  let hostile: GraphObject[];

  beforeAll(async () => {
    upstreams = await startUpstreams({
      entraSignIns: 30,
      entraAudits: 10,
      entraUsers: 12,
      metabaseUsers: 3,
      metabaseDays: 2,
      pageSize: 100,
    });
    const template = upstreams.entra.dataset.signIns.find((s) => s['appId'] === SAMPLE_METABASE_APP_ID)!;
    hostile = hostileSignIns(template);
    upstreams.entra.dataset.signIns.push(...hostile);

    // Metabase on MariaDB, which (unlike Postgres) stores NUL characters in text, and
    // takes any byte sequence in a binary-collated session.
    mariadb = await createAppDatabase('mysql');
    const dataset = generateMetabaseDataset({ start: new Date(upstreams.since.getTime() + 86_400_000), days: 2, users: 4, seed: 5 });
    await createMetabaseAppDatabase({ url: mariadb.url, version: 60, dataset });
    const connection = await mysql.createConnection({ uri: mariadb.url, charset: 'binary' });
    try {
      await connection.query("SET SESSION sql_mode = ''");
      await connection.query("UPDATE core_user SET first_name = CONCAT('Ann', CHAR(0), 'e') WHERE id = 2");
      await connection.query('UPDATE core_user SET last_name = ? WHERE id = 3', [MB]);
      await connection.query("UPDATE core_user SET type = 'cyborg' WHERE id = 4");
      await connection.query("UPDATE core_user SET login_attributes = '{not json' WHERE id = 5");
      await connection.query("UPDATE login_history SET device_description = CONCAT('dev', CHAR(0)) WHERE id = 1");
      await connection.query('UPDATE login_history SET ip_address = ? WHERE id = 2', [MB]);
      await connection.query(
        'UPDATE audit_log SET details = CONCAT(\'{"a":"\', CHAR(0), \'"}\') WHERE id = (SELECT min(id) FROM (SELECT id FROM audit_log) a)',
      );
      await connection.query("UPDATE query_execution SET context = 'telepathy' WHERE id = 1");
      await connection.query('UPDATE query_execution SET error = ? WHERE id = 2', [Buffer.from([0x41, 0xc3, 0x28, 0xff, 0x00, 0x42])]);
    } finally {
      await connection.end();
    }

    database = await createTestDatabase();
    outcome = await runCli(collectArgs(upstreams), upstreams.env(database.url, { METABASE_DB_URL: mariadb.url }));
    store = await openStore({ databaseUrl: database.url, migrate: false, poolSize: 2 });
  }, 240_000);

  afterAll(async () => {
    await store?.close();
    await database?.drop();
    await mariadb?.drop();
    await upstreams?.close();
  });

  it('the run ends normally and prints the quarantine counts', () => {
    expectNoCrash(outcome);
    expect(outcome.stderr).toBe('');
    expect(outcome.code).toBe(0);
    expect(outcome.stdout).toMatch(/entra-sign-ins: \d+ records \(\d+ new, \d+ revised, [1-9]\d* quarantined\)/);
    expect(outcome.stdout).toMatch(/metabase-accounts: \d+ records \(\d+ new, \d+ revised, [1-9]\d* quarantined\)/);
  });

  it('every hostile Entra record is stored or quarantined with a reason that names the problem', async () => {
    const entries = await quarantined(store, /^(entra-sign-ins|entra_sign_in)$/);
    const stored = new Set(
      (await sql<{ upstream_id: string }>`select upstream_id from entra_sign_in`.execute(store.db)).rows.map((r) => r.upstream_id),
    );
    const explain: Record<string, RegExp> = {
      'bad-missing-time': /createdDateTime is missing/,
      'bad-time-type': /createdDateTime/,
      'bad-invalid-date': /createdDateTime is not a valid/,
      'bad-nul': /NUL|U\+0000/,
      'bad-nul-key': /NUL|U\+0000/,
      'bad-lone-surrogate': /surrogate|Unicode/,
    };
    for (const record of hostile) {
      const id = record['id'] as string | undefined;
      if (id === undefined) {
        expect(
          entries.some((e) => e.upstream_id === null && /without an id/.test(e.reason)),
          'the sign-in without an id',
        ).toBe(true);
        continue;
      }
      const reasons = entries.filter((e) => e.upstream_id === id).map((e) => e.reason);
      expect(stored.has(id) || reasons.length > 0, `${id} neither stored nor quarantined`).toBe(true);
      if (explain[id]) {
        expect(stored.has(id), `${id} should not be stored as is`).toBe(false);
        expect(reasons.join('; '), id).toMatch(explain[id]!);
      }
    }
    // The wrongly typed values and unknown enums that are stored are stored verbatim.
    const { rows } = await sql<{
      raw: unknown;
      raw_packed: unknown;
    }>`select raw, raw_packed from entra_sign_in where upstream_id = 'bad-unknown-enum'`.execute(store.db);
    if (rows[0]) expect((storedRaw(rows[0]) as Record<string, unknown>)['riskLevelDuringSignIn']).toBe('apocalyptic');
  });

  it('every hostile Metabase row is stored or quarantined with a reason', async () => {
    const entries = await quarantined(store, /^metabase/);
    // The collector quarantines under its stream name, the writer under its table name.
    const reasons = (stream: RegExp, id: string) =>
      entries
        .filter((e) => stream.test(e.stream) && e.upstream_id === id)
        .map((e) => e.reason)
        .join('; ');
    const accounts = new Set(
      (await sql<{ upstream_id: string }>`select distinct upstream_id from metabase_account_version`.execute(store.db)).rows.map(
        (r) => r.upstream_id,
      ),
    );
    for (const id of ['2', '3', '4', '5']) expect(accounts.has(id) || reasons(/account/, id) !== '', `account ${id}`).toBe(true);
    expect(reasons(/account/, '2')).toMatch(/NUL|U\+0000/);
    expect(reasons(/account/, '5')).toMatch(/not valid JSON/);
    expect(reasons(/login/, '1')).toMatch(/NUL|U\+0000/);
    const queries = new Set(
      (await sql<{ upstream_id: string }>`select upstream_id from metabase_query_execution`.execute(store.db)).rows.map(
        (r) => r.upstream_id,
      ),
    );
    expect(queries.has('1') || reasons(/query/, '1') !== '', 'query 1').toBe(true);
    expect(queries.has('2') || reasons(/query/, '2') !== '', 'query 2').toBe(true);
  });

  it('the chain verifies over what was stored (hashes agree with the stored text)', async () => {
    expect(await verifyChain(store.db)).toMatchObject({ intact: true });
  });
});
