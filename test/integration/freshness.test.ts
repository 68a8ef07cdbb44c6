// readFreshness is the one reading of how fresh each stream's archive is: the retention
// guard, /readyz, /metrics, /v1/coverage and the console's overview all take it. Per
// stream it gives the end of the latest complete window, the retention judgement (for
// the Entra log streams upstream deletes) and the oldest record the upstream last said
// it still holds (the latest retention observation of that stream).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { readFreshness } from '../../src/store/freshness.repository.js';
import { streams } from '../../src/store/streams.js';
import { engines, openTestStore, type TestStore } from '../support/database.js';

const NOW = new Date('2026-07-15T12:00:00Z');
const DAY = 86_400_000;
const ENTRA = 'entra:contoso';
const METABASE = 'metabase:main';
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

describe.each(engines)('readFreshness on %s', (engine) => {
  let store: TestStore;

  beforeAll(async () => {
    store = await openTestStore(engine);
    const collection = createCollectionRepository(store.db);
    await collection.upsertSource({ id: ENTRA, kind: 'entra', displayName: 'Contoso' });
    await collection.upsertSource({ id: METABASE, kind: 'metabase', displayName: 'Metabase' });
    // Sign-ins last collected 25 days ago (30-day retention: 5 days left), two windows.
    await collection.addCoverage(ENTRA, streams.entraSignIns, { from: ago(60), to: ago(40) }, null);
    await collection.addCoverage(ENTRA, streams.entraSignIns, { from: ago(40), to: ago(25) }, null);
    // Audits past the retention: lost.
    await collection.addCoverage(ENTRA, streams.entraDirectoryAudits, { from: ago(50), to: ago(31) }, null);
    await collection.addCoverage(METABASE, streams.metabaseLogins, { from: ago(90), to: ago(1) }, null);
    // Two observations of the logins' upstream retention: the later one counts.
    await collection.recordRetention(METABASE, streams.metabaseLogins, ago(80), null);
    await collection.recordRetention(METABASE, streams.metabaseLogins, ago(70), null);
  });
  afterAll(async () => {
    await store?.dispose();
  });

  it('judges each stream and carries its latest retention observation', async () => {
    const freshness = await readFreshness(store.db, { now: NOW, entraRetentionDays: 30 });
    expect(freshness.map((f) => [f.sourceId, f.stream, f.status])).toEqual([
      [ENTRA, streams.entraDirectoryAudits, 'lost'],
      [ENTRA, streams.entraSignIns, 'expiring'],
      [METABASE, streams.metabaseLogins, 'fresh'],
    ]);
    const signIns = freshness.find((f) => f.stream === streams.entraSignIns)!;
    expect(signIns).toMatchObject({ kind: 'entra', lastCoveredTo: ago(25), retentionDays: 30, expiresAt: ago(-5), daysLeft: 5 });
    expect(signIns.oldestAvailableAt).toBeNull();
    const logins = freshness.find((f) => f.stream === streams.metabaseLogins)!;
    expect(logins).toMatchObject({ kind: 'metabase', retentionDays: null, expiresAt: null, status: 'fresh' });
    expect(logins.oldestAvailableAt).toEqual(ago(70));
  });
});
