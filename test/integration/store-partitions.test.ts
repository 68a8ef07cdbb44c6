// Monthly partitions are created ahead of the clock (issue 13): after the first write,
// this month's and the next two months' partitions of the partitioned event table exist,
// besides the month of the rows written. Both engines.
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { monthsAhead, PARTITION_MONTHS_AHEAD, partitionName } from '../../src/store/partitions.js';
import { engines, openTestStore, type TestStore } from '../support/database.js';
import { signInRecord } from '../support/factories.js';

describe.each(engines)('partitions ahead on %s', (engine) => {
  let store: TestStore;
  beforeAll(async () => {
    store = await openTestStore(engine);
    await store.db.insertInto('source').values({ id: 'entra:p', kind: 'entra', display_name: 'P', settings: '{}' }).execute();
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('creates the months of the rows and the months ahead of now', async () => {
    await createEvidenceRepository(store.db).writeEvents('entra_sign_in', 'entra:p', [
      signInRecord({ id: 'old', at: '2025-03-10T08:00:00Z' }),
    ]);
    const { rows } = await sql<{ name: string }>`
      select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'entra_sign_in'::regclass`.execute(store.db);
    const names = rows.map((row) => row.name);
    const expected = [
      partitionName('entra_sign_in', new Date('2025-03-01T00:00:00Z')),
      ...monthsAhead(new Date()).map((month) => partitionName('entra_sign_in', month)),
    ];
    expect(expected).toHaveLength(PARTITION_MONTHS_AHEAD + 2);
    for (const name of expected) expect(names).toContain(name);
  });
});
