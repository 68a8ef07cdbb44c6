// "State at as-of" (rules.md): the latest version of each object at or before as-of.
// When the store holds no snapshot of a stream that early (collection started after
// the period), the earliest later snapshot is used and the report says when the state
// was observed.
import { type Kysely, type RawBuilder, sql } from 'kysely';

import type { Database } from '../store/schema.js';
import type { StateTableName } from '../store/tables.js';

/** The instant whose state stands for as-of, per source, for one state table. */
export async function stateInstants(db: Kysely<Database>, table: StateTableName, asOf: Date): Promise<Map<string, Date>> {
  const { rows } = await sql<{ source_id: string; at: Date }>`
    select source_id, coalesce(max(observed_at) filter (where observed_at <= ${asOf}), min(observed_at)) as at
    from snapshot where stream = ${table} group by source_id`.execute(db);
  return new Map(rows.map((row) => [row.source_id, new Date(row.at)]));
}

/** The state instants as a relation `p(source_id, at)`, for a version table to join on
 *  its source (one bound jsonb parameter, whatever the number of sources). */
export function instantsRelation(instants: Map<string, Date>): RawBuilder<unknown> {
  const points = JSON.stringify([...instants].map(([source_id, at]) => ({ source_id, at: at.toISOString() })));
  return sql`jsonb_to_recordset(${points}::jsonb) as p(source_id text, at timestamptz)`;
}

/** SQL for the latest version of every object of `table` at its source's state instant
 *  (one row per object, all columns, tombstones included: filter on `present`). */
export function stateAt(table: StateTableName, instants: Map<string, Date>): RawBuilder<unknown> {
  return sql`(
    select distinct on (v.source_id, v.upstream_id) v.*
    from ${sql.table(table)} v
    join ${instantsRelation(instants)} on p.source_id = v.source_id
    where v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc
  )`;
}

export function observedLater(instants: Map<string, Date>, asOf: Date): Date | null {
  let latest: Date | null = null;
  for (const at of instants.values()) if (at.getTime() > asOf.getTime() && (!latest || at > latest)) latest = at;
  return latest;
}
