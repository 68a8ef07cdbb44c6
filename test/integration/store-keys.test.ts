// Issue 13, "past one machine": every evidence table's primary and unique keys start
// with the source id, so the store can be distributed on it (Citus: a distribution
// column must be part of every primary and unique key). Read from the catalogue of a
// migrated store, partitions included, on both engines.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { eventTables, stateTables } from '../../src/store/tables.js';
import { engines, openTestStore, type TestStore } from '../support/database.js';

const evidenceTables = [...Object.keys(eventTables), ...Object.keys(stateTables)];

describe.each(engines)('evidence keys on %s', (engine) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(engine);
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('every primary and unique key of every evidence table (and partition) starts with source_id', async () => {
    // A partition of the current month, so partitions are checked too.
    await sql
      .raw(`create table if not exists entra_sign_in_keys_test partition of entra_sign_in for values from ('2001-01-01') to ('2001-02-01')`)
      .execute(store.db);
    const { rows } = await sql<{ table_name: string; index_name: string; first_column: string | null; is_primary: boolean }>`
      select c.relname as table_name, i.relname as index_name, x.indisprimary as is_primary,
             (select a.attname from pg_attribute a where a.attrelid = c.oid and a.attnum = x.indkey[0]) as first_column
      from pg_index x
      join pg_class i on i.oid = x.indexrelid
      join pg_class c on c.oid = x.indrelid
      where (x.indisprimary or x.indisunique)
        and (c.relname = any(${evidenceTables}::text[])
             or c.oid in (select inhrelid from pg_inherits where inhparent in (select oid from pg_class where relname = any(${evidenceTables}::text[]))))`.execute(
      store.db,
    );
    const tablesWithKeys = new Set(rows.map((row) => row.table_name));
    for (const table of evidenceTables) expect(tablesWithKeys.has(table), `${table} has a primary key`).toBe(true);
    expect(tablesWithKeys.has('entra_sign_in_keys_test')).toBe(true);
    const wrong = rows
      .filter((row) => row.first_column !== 'source_id')
      .map((row) => `${row.table_name}.${row.index_name} starts with ${row.first_column}`);
    expect(wrong).toEqual([]);
  });
});
