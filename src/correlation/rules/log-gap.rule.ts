// log-gap — inside the period, a source (Entra sign-ins, Entra directory audits,
// Metabase events) has an interval longer than the tolerance that no completed
// collection covers; or a Metabase log table's oldest kept row is later than the period
// start (retention truncated it). One finding per source and gap.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// Assumptions: a Metabase table that the instance does not have (edition, version) is
// not a gap (the rules that need it say so as not evaluable). Retention is judged
// against our archive: rows archived before Metabase deleted them are not lost.
// The part of a gap before the oldest row Metabase still held is judged by
// judgeTruncation (below): retention can only have taken rows older than its cutoff
// (observation − audit-max-retention-days), from tables this edition truncates, after the
// instance's first activity; the rest of that part held no rows to collect (a sparse
// table, or before the instance existed) and is no finding.
import type { Kysely } from 'kysely';
import { sql } from 'kysely';

import { gapsIn, type TimeRange } from '../../store/collection.repository.js';
import type { MetabaseRetentionFacts } from '../../store/metabase-retention.js';
import type { Database } from '../../store/schema.js';
import { capabilities, streams } from '../../store/streams.js';
import { numberParameter } from '../parameters.js';
import type { EvidenceRef, RuleContext } from '../types.js';
import { findingId } from './common.js';
import { defineRule, evaluated, type FindingDraft, notEvaluable } from './define-rule.js';

export interface TruncationJudgement {
  /** Parts retention can have deleted before they were archived: findings. */
  truncated: TimeRange[];
  /** Parts that held no rows: the table is sparse there, or the instance did not exist yet. */
  explained: { range: TimeRange; why: 'before-first-activity' | 'sparse' }[];
  /** Parts after the oldest kept row: rows existed and were not collected. */
  uncovered: TimeRange[];
}

const clip = (range: TimeRange, from: number, to: number): TimeRange | null => {
  const f = Math.max(range.from.getTime(), from);
  const t = Math.min(range.to.getTime(), to);
  return t > f ? { from: new Date(f), to: new Date(t) } : null;
};

/** Splits a Metabase gap by what Metabase's retention can have done (see the header).
 *  Without retention facts (older collections) the part before the oldest kept row is
 *  taken as truncated, as before. */
export function judgeTruncation(
  gap: TimeRange,
  table: string,
  oldest: Date | null | undefined,
  facts: MetabaseRetentionFacts | undefined,
): TruncationJudgement {
  const judgement: TruncationJudgement = { truncated: [], explained: [], uncovered: [] };
  const oldestMs = oldest ? oldest.getTime() : null;
  const before = oldestMs === null ? null : clip(gap, -Infinity, oldestMs);
  const after = oldestMs === null ? gap : clip(gap, oldestMs, Infinity);
  if (after) judgement.uncovered.push(after);
  if (!before) return judgement;
  if (!facts) {
    judgement.truncated.push(before);
    return judgement;
  }
  const first = facts.firstActivityAt ? new Date(facts.firstActivityAt).getTime() : -Infinity;
  const preInstance = clip(before, -Infinity, first);
  if (preInstance) judgement.explained.push({ range: preInstance, why: 'before-first-activity' });
  const truncates = facts.days !== null && facts.truncatedTables.includes(table);
  const cutoff = truncates ? new Date(facts.observedAt).getTime() - facts.days! * 86_400_000 : -Infinity;
  const taken = clip(before, first, cutoff);
  if (taken) judgement.truncated.push(taken);
  const sparse = clip(before, Math.max(first, cutoff), Infinity);
  if (sparse) judgement.explained.push({ range: sparse, why: 'sparse' });
  return judgement;
}

// The coverage, capabilities and oldest kept rows come from the inventory (inventory.ts,
// read once per correlation); the one query of the rule itself reads the retention facts
// the Metabase collector records on its source (store/metabase-retention.ts).
function statements(context: RuleContext) {
  return {
    retention: sql<{ id: string; settings: unknown }>`
      select id, settings from source where id = any(${context.inventory.metabaseSourceIds}::text[])`,
  };
}

async function retentionFactsBySource(
  context: RuleContext,
  query: ReturnType<typeof statements>,
): Promise<Map<string, MetabaseRetentionFacts>> {
  const ids = context.inventory.metabaseSourceIds;
  if (ids.length === 0) return new Map();
  const { rows } = await query.retention.execute(context.db);
  const facts = new Map<string, MetabaseRetentionFacts>();
  for (const row of rows) {
    const settings = (typeof row.settings === 'string' ? JSON.parse(row.settings) : row.settings) as {
      retention?: MetabaseRetentionFacts;
    } | null;
    if (settings?.retention?.observedAt) facts.set(row.id, settings.retention);
  }
  return facts;
}

const id = 'log-gap';

const metabaseStreams: { stream: string; table: string }[] = [
  { stream: streams.metabaseLogins, table: 'login_history' },
  { stream: streams.metabaseQueryExecutions, table: 'query_execution' },
  { stream: streams.metabaseViews, table: 'view_log' },
  { stream: streams.metabaseAuditEvents, table: 'audit_log' },
];

export const logGap = defineRule({
  id,
  statements,
  async findings(context, query) {
    const { inventory, period } = context;
    const toleranceMs = numberParameter(context.parameters, 'toleranceHours') * 3_600_000;
    const watched: { sourceId: string; stream: string }[] = [];
    for (const sourceId of inventory.entraSourceIds) {
      watched.push({ sourceId, stream: streams.entraSignIns }, { sourceId, stream: streams.entraDirectoryAudits });
    }
    for (const sourceId of inventory.metabaseSourceIds) {
      for (const { stream, table } of metabaseStreams) {
        if (inventory.capability(sourceId, capabilities.metabaseTable(table))?.available === false) continue;
        if (stream === streams.metabaseLogins && inventory.capability(sourceId, capabilities.metabaseLoginHistory)?.available === false)
          continue;
        watched.push({ sourceId, stream });
      }
    }
    if (watched.length === 0) return notEvaluable('no source has been collected');

    const findings: FindingDraft[] = [];
    const gapsByStream: Record<string, { from: string; to: string }[]> = {};
    const explainedByStream: Record<string, { from: string; to: string; why: string }[]> = {};
    const retention = await retentionFactsBySource(context, query);
    const tableOf = new Map(metabaseStreams.map((m) => [m.stream, m.table]));
    for (const { sourceId, stream } of watched) {
      const gaps = gapsIn(period, inventory.coverage(sourceId, stream)).filter(
        (gap) => gap.to.getTime() - gap.from.getTime() > toleranceMs,
      );
      gapsByStream[`${sourceId} ${stream}`] = gaps.map((gap) => ({ from: gap.from.toISOString(), to: gap.to.toISOString() }));
      // Metabase deletes old log rows (retention). Rows we archived before that are safe;
      // the part of a gap before the oldest row Metabase still held is judged by judgeTruncation.
      const table = tableOf.get(stream);
      const oldest = table ? inventory.oldestAvailable(sourceId, stream) : undefined;
      const facts = retention.get(sourceId);
      const parts: { range: TimeRange; byRetention: boolean }[] = [];
      for (const gap of gaps) {
        if (!table) {
          parts.push({ range: gap, byRetention: false });
          continue;
        }
        const judged = judgeTruncation(gap, table, oldest, facts);
        for (const range of judged.truncated) parts.push({ range, byRetention: true });
        for (const range of judged.uncovered)
          if (range.to.getTime() - range.from.getTime() > toleranceMs) parts.push({ range, byRetention: false });
        if (judged.explained.length) {
          (explainedByStream[`${sourceId} ${stream}`] ??= []).push(
            ...judged.explained.map((e) => ({ from: e.range.from.toISOString(), to: e.range.to.toISOString(), why: e.why })),
          );
        }
      }
      for (const { range: gap, byRetention } of parts) {
        const hours = Math.round((gap.to.getTime() - gap.from.getTime()) / 3_600_000);
        const retentionNote = facts ? ` (retention ${facts.days === null ? 'forever' : `${facts.days} days`}, ${facts.basis})` : '';
        findings.push({
          id: findingId(id, sourceId, stream, gap.from.toISOString()),
          subject: { personId: null, upn: null, metabaseAccountId: null, email: null, credentialId: null, source: `${sourceId} ${stream}` },
          summary: byRetention
            ? `${stream} of ${sourceId} holds nothing from ${gap.from.toISOString()} to ${gap.to.toISOString()} (${hours} h): Metabase's oldest kept row is from ${oldest!.toISOString()}, so retention truncated the log before it was archived${retentionNote}`
            : `${stream} of ${sourceId} was not collected from ${gap.from.toISOString()} to ${gap.to.toISOString()} (${hours} h)`,
          firstSeen: gap.from,
          lastSeen: gap.to,
          evidence: await gapEvidence(context.db, sourceId, stream, gap),
          detail: {
            stream,
            sourceId,
            kind: byRetention ? 'retention' : 'uncovered',
            from: gap.from.toISOString(),
            to: gap.to.toISOString(),
            ...(byRetention
              ? { oldestAvailableAt: oldest!.toISOString(), retentionDays: facts?.days ?? null, retentionBasis: facts?.basis ?? null }
              : {}),
          },
        });
      }
    }
    return evaluated(findings, { detail: { gaps: gapsByStream, explained: explainedByStream } });
  },
});

/** A gap's evidence: the coverage windows that end at or before its start and begin at or
 *  after its end (the last and first completely collected windows around it), and the
 *  collection runs that recorded them. A gap at the start of the archive has only the
 *  window after it; one at the end only the window before. */
export async function gapEvidence(db: Kysely<Database>, sourceId: string, stream: string, gap: TimeRange): Promise<EvidenceRef[]> {
  const columns = ['id', 'covered_from', 'covered_to', 'run_id'] as const;
  // The window nearest the gap on one side: the latest ending before it, the earliest starting after it.
  const nearest = (edge: 'covered_to' | 'covered_from', op: '<=' | '>=', bound: Date, direction: 'asc' | 'desc') =>
    db
      .selectFrom('coverage_window')
      .select(columns)
      .where('source_id', '=', sourceId)
      .where('stream', '=', stream)
      .where(edge, op, bound)
      .orderBy(edge, direction)
      .orderBy('id', direction)
      .limit(1)
      .executeTakeFirst();
  const before = await nearest('covered_to', '<=', gap.from, 'desc');
  const after = await nearest('covered_from', '>=', gap.to, 'asc');
  const evidence: EvidenceRef[] = [];
  if (before) evidence.push({ source: 'coverage-window', id: String(before.id), at: new Date(before.covered_to) });
  if (after) evidence.push({ source: 'coverage-window', id: String(after.id), at: new Date(after.covered_from) });
  const runIds = [...new Set([before?.run_id, after?.run_id].filter((id): id is number => id !== null && id !== undefined))];
  if (runIds.length > 0) {
    const runs = await db.selectFrom('collection_run').select(['id', 'started_at']).where('id', 'in', runIds).orderBy('id').execute();
    for (const run of runs) evidence.push({ source: 'collection-run', id: String(run.id), at: new Date(run.started_at) });
  }
  return evidence;
}
