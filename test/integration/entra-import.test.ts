// Entra portal downloads (JSON and CSV) into the evidence tables, with the same ids as
// live collection, and bad rows quarantined.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importEntraFile } from '../../src/collectors/files/entra-import.js';
import { silentProgress, type CollectContext } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { openTestStore, type TestStore } from '../support/database.js';

describe('Entra portal imports', () => {
  let store: TestStore;
  let context: CollectContext;
  const dir = mkdtempSync(path.join(tmpdir(), 'entra-import-'));
  const sourceId = 'entra:contoso.example';
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

  it('imports a JSON sign-in download, detected by its fields, and is idempotent', async () => {
    const file = path.join(dir, 'InteractiveSignIns.json');
    writeFileSync(
      file,
      JSON.stringify([
        { id: 'a1', createdDateTime: '2026-07-01T10:00:00Z', userPrincipalName: 'Ann@Contoso.example', appId: 'app', status: { errorCode: 0 }, signInEventTypes: ['interactiveUser'] },
        { id: 'a2', createdDateTime: '2026-07-01T11:00:00Z', userPrincipalName: 'bob@contoso.example', appId: 'app', status: { errorCode: 50126 } },
        { createdDateTime: '2026-07-01T12:00:00Z' },
      ]),
    );
    const first = await importEntraFile(context, sourceId, file);
    expect(first).toMatchObject({ stream: 'entra-sign-ins', records: 2, inserted: 2, quarantined: 1 });
    const again = await importEntraFile(context, sourceId, file);
    expect(again).toMatchObject({ inserted: 0, revised: 0 });
    const rows = await store.db.selectFrom('entra_sign_in').select(['upstream_id', 'user_principal_name', 'error_code', 'graph_version']).orderBy('upstream_id').execute();
    expect(rows).toEqual([
      { upstream_id: 'a1', user_principal_name: 'ann@contoso.example', error_code: 0, graph_version: 'beta' },
      { upstream_id: 'a2', user_principal_name: 'bob@contoso.example', error_code: 50126, graph_version: 'v1.0' },
    ]);
  });

  it('imports a CSV audit download with targets', async () => {
    const file = path.join(dir, 'AuditLogs.csv');
    writeFileSync(
      file,
      '\ufeffDate (UTC),Id,CorrelationId,Service,Category,Activity,Result,ActorObjectId,Target1Type,Target1ObjectId,Target2Type,Target2ObjectId\n' +
        '2026-07-02T09:00:00Z,Directory_1,c1,Core Directory,GroupManagement,Add member to group,success,u-admin,User,u-1,Group,g-1\n' +
        'not a date,Directory_2,c2,Core Directory,UserManagement,Update user,success,u-admin,User,u-2,,\n',
    );
    const summary = await importEntraFile(context, sourceId, file);
    expect(summary).toMatchObject({ stream: 'entra-directory-audits', records: 1, quarantined: 1 });
    const row = await store.db.selectFrom('entra_directory_audit').select(['upstream_id', 'activity', 'target_ids', 'initiated_by_user_id']).executeTakeFirstOrThrow();
    expect(row).toEqual({ upstream_id: 'Directory_1', activity: 'Add member to group', target_ids: ['u-1', 'g-1'], initiated_by_user_id: 'u-admin' });
  });

  it('refuses a file it cannot read with a clear error', async () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{"nope": 1');
    await expect(importEntraFile(context, sourceId, file)).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });
});
