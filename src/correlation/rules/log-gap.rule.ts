// log-gap — inside the period, a source (Entra sign-ins, Entra directory audits,
// Metabase events) has an interval longer than the tolerance that no completed
// collection covers; or a Metabase log table's oldest kept row is later than the period
// start (retention truncated it). One finding per source and gap.
// Controls: CC7.2, A.8.15. Severity high.
// Assumption: a Metabase table that the instance does not have (edition, version) is
// not a gap; the rules that need it say so as not evaluable.
import { capabilities, streams } from '../../collectors/streams.js';
import { gapsIn } from '../../store/collection.repository.js';
import { numberParameter } from '../parameters.js';
import type { Rule, RuleFinding, RuleOutcome } from '../types.js';
import { findingId } from './common.js';

const id = 'log-gap';

const metabaseStreams: { stream: string; table: string }[] = [
  { stream: streams.metabaseLogins, table: 'login_history' },
  { stream: streams.metabaseQueryExecutions, table: 'query_execution' },
  { stream: streams.metabaseViews, table: 'view_log' },
  { stream: streams.metabaseAuditEvents, table: 'audit_log' },
];

export const logGap: Rule = {
  id,
  severity: 'high',
  async statements() {
    return [{ name: 'coverage', sql: '-- computed from coverage_window and retention_observation (see inventory.ts)' }];
  },
  async evaluate(context): Promise<RuleOutcome> {
    const { inventory, period } = context;
    const toleranceMs = numberParameter(context.parameters, 'toleranceHours', 24) * 3_600_000;
    const watched: { sourceId: string; stream: string }[] = [];
    for (const sourceId of inventory.entraSourceIds) {
      watched.push({ sourceId, stream: streams.entraSignIns }, { sourceId, stream: streams.entraDirectoryAudits });
    }
    for (const sourceId of inventory.metabaseSourceIds) {
      for (const { stream, table } of metabaseStreams) {
        if (inventory.capability(sourceId, capabilities.metabaseTable(table))?.available === false) continue;
        if (stream === streams.metabaseLogins && inventory.capability(sourceId, capabilities.metabaseLoginHistory)?.available === false) continue;
        watched.push({ sourceId, stream });
      }
    }
    if (watched.length === 0) return { status: 'not-evaluable', reason: 'no source has been collected', findings: [], notEvaluableCount: 0, detail: {} };

    const findings: RuleFinding[] = [];
    const gapsByStream: Record<string, { from: string; to: string }[]> = {};
    for (const { sourceId, stream } of watched) {
      const gaps = gapsIn(period, inventory.coverage(sourceId, stream)).filter((gap) => gap.to.getTime() - gap.from.getTime() > toleranceMs);
      gapsByStream[`${sourceId} ${stream}`] = gaps.map((gap) => ({ from: gap.from.toISOString(), to: gap.to.toISOString() }));
      for (const gap of gaps) {
        const hours = Math.round((gap.to.getTime() - gap.from.getTime()) / 3_600_000);
        findings.push({
          id: findingId(id, sourceId, stream, gap.from.toISOString()),
          rule: id,
          severity: 'high',
          subject: { personId: null, upn: null, metabaseAccountId: null, email: null, credentialId: null, source: `${sourceId} ${stream}` },
          summary: `${stream} of ${sourceId} was not collected from ${gap.from.toISOString()} to ${gap.to.toISOString()} (${hours} h)`,
          firstSeen: gap.from,
          lastSeen: gap.to,
          evidence: [],
          detail: { stream, sourceId, kind: 'uncovered', from: gap.from.toISOString(), to: gap.to.toISOString() },
        });
      }
      const oldest = inventory.oldestAvailable(sourceId, stream);
      if (oldest && oldest.getTime() > period.from.getTime() && stream.startsWith('metabase-')) {
        findings.push({
          id: findingId(id, sourceId, stream, 'retention'),
          rule: id,
          severity: 'high',
          subject: { personId: null, upn: null, metabaseAccountId: null, email: null, credentialId: null, source: `${sourceId} ${stream}` },
          summary: `Metabase's oldest kept ${stream} row is from ${oldest.toISOString()}, after the period start: retention truncated the log`,
          firstSeen: period.from,
          lastSeen: oldest,
          evidence: [],
          detail: { stream, sourceId, kind: 'retention', oldestAvailableAt: oldest.toISOString() },
        });
      }
    }
    return { status: 'evaluated', reason: null, findings, notEvaluableCount: 0, detail: { gaps: gapsByStream } };
  },
};
