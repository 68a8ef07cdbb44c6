// Usage-analytics CSV exports (query log, view log, audit log) into the store.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { importMetabaseUsageCsv } from '../../src/collectors/metabase/usage-csv.js';
import { AppError } from '../../src/errors.js';
import { decodeEventRow } from '../../src/store/record-codec.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { makeContext } from './metabase-helpers.js';

const now = new Date('2026-03-10T00:00:00Z');

describe('Metabase usage-analytics CSV import', () => {
  let store: TestStore;
  const dir = mkdtempSync(path.join(tmpdir(), 'mb-csv-'));
  beforeAll(async () => {
    store = await openTestStore('postgres');
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('loads a query log export with display-name headers and quarantines a bad time', async () => {
    const file = path.join(dir, 'query-log.csv');
    writeFileSync(
      file,
      [
        'Entity ID,Started At,Running Time Seconds,Result Rows,Is Native,Query Source,User ID,Card ID,Dashboard ID,Database ID,Error',
        '101,2026-03-01T09:00:00Z,1.5,10,false,question,2,7,,2,',
        '102,2026-03-01T09:05:00Z,0.2,0,true,ad-hoc,0,,,2,syntax error',
        '103,not a time,0.1,1,false,question,3,7,,2,',
      ].join('\n'),
    );
    const summary = await importMetabaseUsageCsv(await makeContext(store, {}, now), file, 'query-log', { instance: 'mb.example.com' });
    expect(summary.sourceId).toBe('metabase:mb.example.com');
    expect(summary.streams[0]).toMatchObject({
      stream: 'metabase-query-executions',
      records: 3,
      inserted: 2,
      quarantined: 1,
      coverage: [],
    });
    // Columns and record through the store's decoder (running_time_ms and native are packed, migration 0012).
    const rows = (await store.db.selectFrom('metabase_query_execution').selectAll().orderBy('upstream_id').execute()).map((r) => {
      const { upstream_id, executor_id, running_time_ms, native, has_error, context } = decodeEventRow('metabase_query_execution', r);
      return { upstream_id, executor_id, running_time_ms, native, has_error, context };
    });
    expect(rows).toEqual([
      { upstream_id: '101', executor_id: 2, running_time_ms: 1500, native: false, has_error: false, context: 'question' },
      { upstream_id: '102', executor_id: null, running_time_ms: 200, native: true, has_error: true, context: 'ad-hoc' },
    ]);
  });

  it('loads an audit log export and refuses a file of another kind', async () => {
    const file = path.join(dir, 'audit.csv');
    writeFileSync(
      file,
      'ID,Topic,Timestamp,User ID,Entity Type,Entity ID,Details\n5,card-create,2026-03-02T10:00:00Z,1,card,9,"{""name"":""Revenue""}"\n',
    );
    const summary = await importMetabaseUsageCsv(await makeContext(store, {}, now), file, 'audit-log', { instance: 'mb.example.com' });
    expect(summary.streams[0]).toMatchObject({ records: 1, inserted: 1, quarantined: 0 });
    const wrong = await importMetabaseUsageCsv(await makeContext(store, {}, now), path.join(dir, 'query-log.csv'), 'audit-log').catch(
      (error: unknown) => error,
    );
    expect(wrong).toBeInstanceOf(AppError);
    expect((wrong as AppError).message).toMatch(/query-log\.csv is not a Metabase audit-log export: no timestamp, topic column/);
  });
});
