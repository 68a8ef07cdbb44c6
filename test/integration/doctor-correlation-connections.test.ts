// The doctor tells how many connections correlation will use (docs/operations.md,
// "Correlation's connections"), and warns when those beside the pool cannot be opened:
// matching then runs its slices one after another, more slowly.
import { randomBytes } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { correlationConnectionsCheck } from '../../src/doctor/store.js';
import { openStore } from '../../src/store/database.js';
import { createTestDatabase, onTestServer, postgresAvailable, type TestDatabase } from '../support/database.js';

const available = await postgresAvailable();

describe.skipIf(!available)("doctor: correlation's connections", () => {
  let database: TestDatabase;
  let name: string;
  const role = `accesstrail_limited_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    name = new URL(database.url).pathname.slice(1);
  });

  afterAll(async () => {
    await database?.drop();
    await onTestServer(`drop role if exists ${role}`);
  });

  const checkWith = async (url: string) => {
    const store = await openStore({ databaseUrl: url, migrate: false, poolSize: 1 });
    try {
      return await correlationConnectionsCheck(store);
    } finally {
      await store.close();
    }
  };

  it('names the slices the server grants, or one connection', async () => {
    await onTestServer(`alter database ${name} set max_parallel_workers_per_gather = 3`);
    expect(await checkWith(database.url)).toMatchObject({ status: 'pass', detail: expect.stringContaining('login matching in 3 slices') });
    await onTestServer(`alter database ${name} set max_parallel_workers_per_gather = 1`);
    expect(await checkWith(database.url)).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^one connection/) });
  });

  it('warns when a connection beside the pool is refused', async () => {
    await onTestServer(`alter database ${name} set max_parallel_workers_per_gather = 2`);
    // A role allowed one connection: the store's pool holds it, so the second is refused.
    await onTestServer(`create role ${role} login connection limit 1`);
    const url = new URL(database.url);
    url.username = role;
    const check = await checkWith(url.toString());
    expect(check.status).toBe('warn');
    expect(check.detail).toContain('too many connections');
    expect(check.detail).toContain('2 slices one after another');
    expect(check.fix).toContain('CONNECTION LIMIT');
  });
});
