// Monthly partitions of the big event tables, created on demand before a batch is
// written, each in its own short transaction (an empty partition left behind by a
// failed batch is harmless). A lock keeps two processes from racing on the same DDL.
import { type Kysely, sql } from 'kysely';

import type { Database } from './schema.js';

/** Held while partitions are created (and by the archiver while it drops one). */
export const PARTITION_LOCK_KEY = 7_305_145_002;

function monthStart(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
}

export function partitionName(table: string, month: Date): string {
  return `${table}_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

/** Creates the missing monthly partitions of `table` for `instants`; `known` caches
 *  the names this process has already made sure of. */
export async function ensureMonthlyPartitions(
  db: Kysely<Database>,
  table: string,
  instants: Iterable<Date>,
  known: Set<string>,
): Promise<void> {
  const months = new Map<string, Date>();
  for (const instant of instants) {
    const month = monthStart(instant);
    const name = partitionName(table, month);
    if (!known.has(name)) months.set(name, month);
  }
  if (months.size === 0) return;
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${PARTITION_LOCK_KEY})`.execute(trx);
    for (const [name, month] of months) {
      const next = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1));
      await sql
        .raw(
          `create table if not exists ${name} partition of ${table} for values from ('${month.toISOString()}') to ('${next.toISOString()}')`,
        )
        .execute(trx);
    }
  });
  for (const name of months.keys()) known.add(name);
}

/** Months ahead of the clock whose partitions exist before any row of them arrives, so a
 *  collection at the turn of a month never waits on DDL (issue 13). */
export const PARTITION_MONTHS_AHEAD = 2;

/** The instants whose months the writer makes sure of ahead: this month and the next
 *  PARTITION_MONTHS_AHEAD. */
export function monthsAhead(now: Date, count = PARTITION_MONTHS_AHEAD): Date[] {
  return Array.from({ length: count + 1 }, (_, i) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + i, 1)));
}
