import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectEntra, type EntraCollectOptions } from '../../src/collectors/entra/index.js';
import { entraSourceId } from '../../src/collectors/streams.js';
import { silentProgress, type CollectContext } from '../../src/collectors/types.js';
import { parseConfig } from '../../src/config.js';
import { startEntraEmulator, type EntraEmulator } from '../../src/emulators/entra/index.js';
import { SAMPLE_ADMIN_GROUP_ID, SAMPLE_COLLECTOR_CLIENT_ID, SAMPLE_COLLECTOR_SECRET, SAMPLE_METABASE_APP_ID, sampleDataset } from '../../src/emulators/entra/sample.js';
import { createLogger } from '../../src/logger.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import { openTestStore, type TestStore } from '../support/database.js';

describe('entra collector smoke', () => {
  let emulator: EntraEmulator;
  let store: TestStore;
  const now = new Date();
  beforeAll(async () => {
    emulator = await startEntraEmulator({ dataset: sampleDataset({ now, days: 3 }) });
    store = await openTestStore('postgres');
  });
  afterAll(async () => {
    await emulator?.close();
    await store?.dispose();
  });

  it('collects', async () => {
    const config = parseConfig({
      AZURE_TENANT_ID: emulator.tenantId,
      AZURE_CLIENT_ID: SAMPLE_COLLECTOR_CLIENT_ID,
      AZURE_CLIENT_SECRET: SAMPLE_COLLECTOR_SECRET,
      AZURE_AUTHORITY_HOST: emulator.authorityHost,
      GRAPH_BASE_URL: emulator.graphBaseUrl,
      ENTRA_METABASE_APP_IDS: SAMPLE_METABASE_APP_ID,
      ENTRA_ADMIN_GROUP_IDS: SAMPLE_ADMIN_GROUP_ID,
    });
    const collection = createCollectionRepository(store.db);
    const runId = await collection.startRun('collect', {});
    const context: CollectContext = { store, evidence: createEvidenceRepository(store.db), collection, config, logger: createLogger({ level: 'silent' }), runId, progress: silentProgress, now: () => new Date() };
    const options: EntraCollectOptions = { since: new Date(now.getTime() - 4 * 86_400_000), entra: { tlsCa: emulator.caCertificatePem, reportingLimit: null } };
    const summary = await collectEntra(context, options);
    console.log(JSON.stringify(summary, null, 1), emulator.stats);
    expect(summary.sourceId).toBe(entraSourceId(emulator.tenantId));
  });
});
