// Reads, once per correlation, which sources the store holds and what they cover.
import type { Kysely } from 'kysely';

import { readActiveArchives, withoutArchived } from '../store/archive.js';
import { mergeRanges, type TimeRange } from '../store/collection.repository.js';
import type { Database } from '../store/schema.js';
import type { Inventory } from './types.js';

export async function loadInventory(
  db: Kysely<Database>,
  options: { metabaseAppIds: string[]; adminGroupIds: string[] },
): Promise<Inventory> {
  const sources = await db.selectFrom('source').select(['id', 'kind']).orderBy('id').execute();
  // Coverage recorded after as-of counts too: a collection may archive history late
  // (within the source's retention), and what it archived is evidence for the period.
  const windows = await db.selectFrom('coverage_window').select(['source_id', 'stream', 'covered_from', 'covered_to']).execute();
  const capabilities = await db.selectFrom('source_capability').select(['source_id', 'capability', 'available', 'reason']).execute();
  const retention = await db
    .selectFrom('retention_observation')
    .select(['source_id', 'stream', 'oldest_available_at', 'observed_at'])
    .orderBy('observed_at', 'asc')
    .execute();

  const coverage = new Map<string, TimeRange[]>();
  for (const window of windows) {
    const key = `${window.source_id}|${window.stream}`;
    const list = coverage.get(key) ?? [];
    list.push({ from: new Date(window.covered_from), to: new Date(window.covered_to) });
    coverage.set(key, list);
  }
  // A month whose rows were archived out of the store (src/store/archive.ts) is no longer
  // covered: the store cannot show what happened then, so nothing may read its absence
  // of rows as "nothing happened".
  const archives = await readActiveArchives(db);
  for (const [key, ranges] of coverage) {
    const [sourceId, stream] = key.split('|') as [string, string];
    coverage.set(key, withoutArchived(sourceId, stream, mergeRanges(ranges), archives));
  }

  const capabilityMap = new Map(
    capabilities.map((row) => [`${row.source_id}|${row.capability}`, { available: row.available, reason: row.reason }]),
  );
  const oldest = new Map<string, Date | null>();
  for (const row of retention)
    oldest.set(`${row.source_id}|${row.stream}`, row.oldest_available_at ? new Date(row.oldest_available_at) : null);

  return {
    entraSourceIds: sources.filter((s) => s.kind === 'entra').map((s) => s.id),
    metabaseSourceIds: sources.filter((s) => s.kind === 'metabase').map((s) => s.id),
    metabaseAppIds: options.metabaseAppIds,
    adminGroupIds: options.adminGroupIds,
    coverage: (sourceId, stream) => coverage.get(`${sourceId}|${stream}`) ?? [],
    capability: (sourceId, capability) => capabilityMap.get(`${sourceId}|${capability}`),
    oldestAvailable: (sourceId, stream) => oldest.get(`${sourceId}|${stream}`),
  };
}
