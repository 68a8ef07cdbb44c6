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
import { sql } from 'kysely';

import { gapsIn, type TimeRange } from '../../store/collection.repository.js';
import type { MetabaseRetentionFacts } from '../../store/metabase-retention.js';
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
interface CoverageWindowRow {
  id: number;
  source_id: string;
  stream: string;
  covered_from: Date;
  covered_to: Date;
  run_id: number | null;
  run_started_at: Date | null;
}

function statements(context: RuleContext) {
  return {
    retention: sql<{ id: string; settings: unknown }>`
      select id, settings from source where id = any(${context.inventory.metabaseSourceIds}::text[])`,
    // The completely collected windows (and the runs that recorded them) a gap's evidence
    // is picked from: the last one before the gap and the first one after it.
    coverageWindows: sql<CoverageWindowRow>`
      select cw.id, cw.source_id, cw.stream, cw.covered_from, cw.covered_to, cw.run_id, r.started_at as run_started_at
      from coverage_window cw
      left join collection_run r on r.id = cw.run_id
      where cw.source_id = any(${[...context.inventory.entraSourceIds, ...context.inventory.metabaseSourceIds]}::text[])
      order by cw.source_id, cw.stream, cw.covered_from, cw.id`,
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

export const logGap = defineRule(id, {
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
    const { rows: windows } = await query.coverageWindows.execute(context.db);
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
          evidence: gapEvidence(windows, sourceId, stream, gap),
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
export function gapEvidence(windows: readonly CoverageWindowRow[], sourceId: string, stream: string, gap: TimeRange): EvidenceRef[] {
  let before: CoverageWindowRow | undefined;
  let after: CoverageWindowRow | undefined;
  for (const window of windows) {
    if (window.source_id !== sourceId || window.stream !== stream) continue;
    const from = new Date(window.covered_from).getTime();
    const to = new Date(window.covered_to).getTime();
    if (to <= gap.from.getTime()) {
      const best = before ? new Date(before.covered_to).getTime() : -Infinity;
      if (to > best || (to === best && window.id > before!.id)) before = window;
    }
    if (from >= gap.to.getTime()) {
      const best = after ? new Date(after.covered_from).getTime() : Infinity;
      if (from < best || (from === best && window.id < after!.id)) after = window;
    }
  }
  const evidence: EvidenceRef[] = [];
  if (before) evidence.push({ source: 'coverage-window', id: String(before.id), at: new Date(before.covered_to) });
  if (after) evidence.push({ source: 'coverage-window', id: String(after.id), at: new Date(after.covered_from) });
  const runs = new Map<number, Date>();
  for (const window of [before, after]) {
    if (window?.run_id !== null && window?.run_id !== undefined && window.run_started_at)
      runs.set(window.run_id, new Date(window.run_started_at));
  }
  for (const [runId, at] of [...runs].sort((a, b) => a[0] - b[0])) evidence.push({ source: 'collection-run', id: String(runId), at });
  return evidence;
}
