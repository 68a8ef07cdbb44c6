// Bookkeeping of collection: sources, runs, checkpoints, coverage windows, what a
// source can provide, retention observations and quarantined records.
import { type Kysely, sql } from 'kysely';

import type { Database } from './schema.js';

export interface TimeRange {
  from: Date;
  to: Date;
}

export interface CollectionRepository {
  upsertSource(source: { id: string; kind: 'entra' | 'metabase'; displayName: string; settings?: Record<string, unknown> }): Promise<void>;
  startRun(kind: 'collect' | 'import', requested: Record<string, unknown>): Promise<number>;
  finishRun(
    runId: number,
    outcome: { status: 'succeeded' | 'partial' | 'failed'; summary: Record<string, unknown>; error?: string | null },
  ): Promise<void>;
  getCheckpoint<T>(sourceId: string, stream: string): Promise<T | undefined>;
  saveCheckpoint(sourceId: string, stream: string, position: unknown, runId: number | null): Promise<void>;
  /** Records a completely collected range. Adjacent and overlapping ranges are kept
   *  as written; readers merge them (coverageOf). */
  addCoverage(sourceId: string, stream: string, range: TimeRange, runId: number | null, detail?: Record<string, unknown>): Promise<void>;
  /** Merged covered ranges of a stream, optionally clipped to a range. */
  coverageOf(sourceId: string, stream: string, within?: TimeRange): Promise<TimeRange[]>;
  setCapability(sourceId: string, capability: string, available: boolean, reason: string | null, runId: number | null): Promise<void>;
  recordRetention(sourceId: string, stream: string, oldestAvailableAt: Date | null, runId: number | null): Promise<void>;
  quarantine(record: {
    sourceId: string;
    stream: string;
    upstreamId?: string | null;
    reason: string;
    payload: unknown;
    runId: number | null;
  }): Promise<void>;
}

/** Merges ranges that overlap or touch. */
export function mergeRanges(ranges: readonly TimeRange[]): TimeRange[] {
  const sorted = [...ranges].sort((a, b) => a.from.getTime() - b.from.getTime());
  const merged: TimeRange[] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last && range.from.getTime() <= last.to.getTime()) {
      if (range.to.getTime() > last.to.getTime()) last.to = range.to;
    } else {
      merged.push({ from: range.from, to: range.to });
    }
  }
  return merged;
}

/** The parts of `within` that `covered` leaves out. */
export function gapsIn(within: TimeRange, covered: readonly TimeRange[]): TimeRange[] {
  const gaps: TimeRange[] = [];
  let cursor = within.from.getTime();
  for (const range of mergeRanges(covered)) {
    if (range.to.getTime() <= cursor) continue;
    if (range.from.getTime() >= within.to.getTime()) break;
    if (range.from.getTime() > cursor) gaps.push({ from: new Date(cursor), to: range.from });
    cursor = Math.max(cursor, range.to.getTime());
  }
  if (cursor < within.to.getTime()) gaps.push({ from: new Date(cursor), to: within.to });
  return gaps;
}

function payloadText(payload: unknown): string {
  if (typeof payload === 'string') return payload;
  try {
    return JSON.stringify(payload) ?? String(payload);
  } catch {
    return String(payload);
  }
}

export function createCollectionRepository(db: Kysely<Database>): CollectionRepository {
  return {
    async upsertSource({ id, kind, displayName, settings = {} }) {
      await db
        .insertInto('source')
        .values({ id, kind, display_name: displayName, settings: JSON.stringify(settings) })
        .onConflict((oc) => oc.column('id').doUpdateSet({ display_name: displayName, settings: JSON.stringify(settings) }))
        .execute();
    },

    async startRun(kind, requested) {
      const row = await db
        .insertInto('collection_run')
        .values({ kind, requested: JSON.stringify(requested), status: 'running', summary: '{}' })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    },

    async finishRun(runId, { status, summary, error = null }) {
      await db
        .updateTable('collection_run')
        .set({ status, summary: JSON.stringify(summary), error, finished_at: new Date() })
        .where('id', '=', runId)
        .execute();
    },

    async getCheckpoint<T>(sourceId: string, stream: string) {
      const row = await db
        .selectFrom('stream_checkpoint')
        .select('position')
        .where('source_id', '=', sourceId)
        .where('stream', '=', stream)
        .executeTakeFirst();
      return row?.position as T | undefined;
    },

    async saveCheckpoint(sourceId, stream, position, runId) {
      const value = JSON.stringify(position);
      await db
        .insertInto('stream_checkpoint')
        .values({ source_id: sourceId, stream, position: value, run_id: runId })
        .onConflict((oc) => oc.columns(['source_id', 'stream']).doUpdateSet({ position: value, run_id: runId, updated_at: sql`now()` }))
        .execute();
    },

    async addCoverage(sourceId, stream, range, runId, detail = {}) {
      if (range.to.getTime() < range.from.getTime()) throw new Error(`coverage range of ${stream} ends before it starts`);
      await db
        .insertInto('coverage_window')
        .values({
          source_id: sourceId,
          stream,
          covered_from: range.from,
          covered_to: range.to,
          run_id: runId,
          detail: JSON.stringify(detail),
        })
        .execute();
    },

    async coverageOf(sourceId, stream, within) {
      let query = db
        .selectFrom('coverage_window')
        .select(['covered_from', 'covered_to'])
        .where('source_id', '=', sourceId)
        .where('stream', '=', stream);
      if (within) query = query.where('covered_to', '>=', within.from).where('covered_from', '<=', within.to);
      const rows = await query.orderBy('covered_from').execute();
      const merged = mergeRanges(rows.map((row) => ({ from: new Date(row.covered_from), to: new Date(row.covered_to) })));
      if (!within) return merged;
      return merged.map((range) => ({
        from: new Date(Math.max(range.from.getTime(), within.from.getTime())),
        to: new Date(Math.min(range.to.getTime(), within.to.getTime())),
      }));
    },

    async setCapability(sourceId, capability, available, reason, runId) {
      await db
        .insertInto('source_capability')
        .values({ source_id: sourceId, capability, available, reason, run_id: runId })
        .onConflict((oc) =>
          oc.columns(['source_id', 'capability']).doUpdateSet({ available, reason, run_id: runId, observed_at: sql`now()` }),
        )
        .execute();
    },

    async recordRetention(sourceId, stream, oldestAvailableAt, runId) {
      await db
        .insertInto('retention_observation')
        .values({ source_id: sourceId, stream, oldest_available_at: oldestAvailableAt, run_id: runId })
        .execute();
    },

    async quarantine({ sourceId, stream, upstreamId = null, reason, payload, runId }) {
      await db
        .insertInto('quarantined_record')
        .values({ source_id: sourceId, stream, upstream_id: upstreamId, reason, payload: payloadText(payload), run_id: runId })
        .execute();
    },
  };
}
