// Builds the report model for a framework and a period from the stored evidence: the
// rules are evaluated for the period at its as-of (a correlation run of its own), then
// sources, controls, findings, populations and statistics are read from the store.
// Populations: populations.repository.ts; the other reads: sources.repository.ts (no SQL
// here). Everything is sorted so that the same evidence and parameters give the same model.
import type { Kysely } from 'kysely';

import type { CorrelationResult } from '../correlation/correlate.js';
import { loadRuleCatalogue } from '../correlation/rule-catalogue.js';
import type { RuleContext, RuleFinding } from '../correlation/types.js';
import { gapsIn, mergeRanges, type TimeRange } from '../store/collection.repository.js';
import type { Database } from '../store/schema.js';
import { capabilities, metabaseApiLimits, streams } from '../store/streams.js';
import { buildControlSections, loadFrameworkCatalogue } from './catalogue.js';
import {
  type Finding,
  type Framework,
  REPORT_SCHEMA_VERSION,
  type ReportModel,
  type RuleSection,
  type SourceSection,
  type Statistics,
} from './model.js';
import { createPopulationsRepository, type StatementObserver } from './populations.repository.js';
import { createSourcesRepository, type RecordSpan, type SourcesRepository } from './sources.repository.js';

const iso = (value: Date | string | null | undefined): string | null =>
  value === null || value === undefined ? null : new Date(value).toISOString();
const range = (r: TimeRange) => ({ from: r.from.toISOString(), to: r.to.toISOString() });

function clip(ranges: TimeRange[], within: TimeRange): TimeRange[] {
  return ranges
    .map((r) => ({
      from: new Date(Math.max(r.from.getTime(), within.from.getTime())),
      to: new Date(Math.min(r.to.getTime(), within.to.getTime())),
    }))
    .filter((r) => r.from.getTime() < r.to.getTime());
}

/** Ranges covered by every one of `lists` (a source is covered only where all its logs are). */
function intersect(lists: TimeRange[][]): TimeRange[] {
  if (lists.length === 0) return [];
  return lists.reduce((acc, list) => {
    const out: TimeRange[] = [];
    for (const a of acc)
      for (const b of list) {
        const from = Math.max(a.from.getTime(), b.from.getTime());
        const to = Math.min(a.to.getTime(), b.to.getTime());
        if (from < to) out.push({ from: new Date(from), to: new Date(to) });
      }
    return mergeRanges(out);
  });
}

export interface BuildModelInput {
  db: Kysely<Database>;
  framework: Framework;
  period: TimeRange;
  generatedAt: Date;
  correlation: CorrelationResult;
  /** Sees each population statement before it runs (bench/report-from-store keeps their plans). */
  observePopulationStatement?: StatementObserver;
}

export async function buildReportModel(input: BuildModelInput): Promise<ReportModel> {
  const { db, correlation } = input;
  const asOf = correlation.asOf;
  const period = input.period;
  const evaluated = correlation.period; // [from, min(to, asOf))
  const ruleCatalogue = loadRuleCatalogue();
  const frameworkCatalogue = loadFrameworkCatalogue(input.framework);

  const context: RuleContext = {
    db,
    runId: correlation.runId,
    directory: { personUpn: () => null, accountEmail: () => null },
    period: evaluated,
    asOf,
    parameters: {},
    inventory: correlation.inventory,
    stateAt: correlation.stateAt,
  };

  const toleranceHours = Number(correlation.rules.find((rule) => rule.id === 'log-gap')?.parameters['toleranceHours'] ?? 24);
  const store = createSourcesRepository(db);
  // Three independent sets of reads, each on a connection of its own at the same time on
  // Postgres (the populations in one transaction of their own, for their temporary state
  // tables); one after another on the embedded engine's one connection.
  const populationsRead = createPopulationsRepository(db).read(
    { context, correlation, period: evaluated },
    input.observePopulationStatement,
  );
  const statisticsRead = buildStatistics(store, correlation, evaluated);
  // Awaited below; a failure meanwhile must not count as unhandled.
  populationsRead.catch(() => undefined);
  statisticsRead.catch(() => undefined);
  const sources = await sourceSections(store, correlation, evaluated, toleranceHours * 3_600_000);
  const rules: RuleSection[] = correlation.rules.map((result) => {
    const entry = ruleCatalogue.rules.find((rule) => rule.id === result.id);
    return {
      id: result.id,
      title: entry?.title ?? result.id,
      severity: result.severity,
      status: result.status,
      reason: result.reason,
      parameters: result.parameters,
      findingCount: result.findings.length,
      notEvaluableCount: result.notEvaluableCount,
    };
  });
  const findings = correlation.findings.map(toModelFinding).sort((a, b) => a.rule.localeCompare(b.rule) || a.id.localeCompare(b.id));
  const controls = buildControlSections({ framework: frameworkCatalogue, rules: ruleCatalogue, ruleResults: rules, findings, sources });
  const populations = await populationsRead;
  const statistics = await statisticsRead;

  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    framework: input.framework,
    title: `${frameworkCatalogue.title}: access to Metabase through Microsoft Entra ID`,
    period: range(period),
    asOf: asOf.toISOString(),
    generatedAt: input.generatedAt.toISOString(),
    provisional: period.to.getTime() > asOf.getTime(),
    stateObservedAt: iso(correlation.stateObservedAt),
    sources,
    controls,
    rules,
    findings,
    populations,
    statistics,
    methodology: methodology(correlation),
  };
}

function toModelFinding(finding: RuleFinding): Finding {
  return {
    id: finding.id,
    rule: finding.rule,
    severity: finding.severity,
    subject: finding.subject,
    summary: finding.summary,
    firstSeen: iso(finding.firstSeen),
    lastSeen: iso(finding.lastSeen),
    evidence: finding.evidence.map((e) => ({ source: e.source, id: e.id, at: iso(e.at) })),
    detail: finding.detail,
  };
}

/** Per source: coverage inside the period and its gaps. A gap is what log-gap calls one:
 *  an uncovered interval longer than its tolerance (a collection that ended minutes
 *  before as-of leaves no gap). */
async function sourceSections(
  store: SourcesRepository,
  correlation: CorrelationResult,
  period: TimeRange,
  toleranceMs: number,
): Promise<SourceSection[]> {
  const { inventory } = correlation;
  const gapsOf = (coverage: TimeRange[]) =>
    gapsIn(period, coverage)
      .filter((gap) => gap.to.getTime() - gap.from.getTime() > toleranceMs)
      .map(range);
  // A source's section. Directory state has no time coverage (null): its "gaps" would be
  // meaningless, so none are listed.
  const section = (
    kind: SourceSection['kind'],
    sourceId: string,
    coverage: TimeRange[] | null,
    records: RecordSpan,
    notes: string[],
  ): SourceSection => ({
    kind,
    sourceId,
    coverage: (coverage ?? []).map(range),
    gaps: coverage ? gapsOf(coverage) : [],
    records: records.n,
    firstRecordAt: iso(records.first),
    lastRecordAt: iso(records.last),
    notes,
  });
  const sections: SourceSection[] = [];
  for (const sourceId of inventory.entraSourceIds) {
    for (const [kind, stream, table] of [
      ['entra-sign-ins', streams.entraSignIns, 'entra_sign_in'],
      ['entra-directory-audits', streams.entraDirectoryAudits, 'entra_directory_audit'],
    ] as const) {
      const coverage = clip(inventory.coverage(sourceId, stream), period);
      const stats = await store.entraLogSpan(table, sourceId, period);
      const notes: string[] = [];
      if (kind === 'entra-sign-ins' && inventory.capability(sourceId, capabilities.entraSignInsBeta)?.available === false)
        notes.push('sign-ins were collected from Graph v1.0: authentication requirement and non-interactive sign-ins are missing');
      if (kind === 'entra-sign-ins' && inventory.capability(sourceId, capabilities.entraRiskFields)?.available === false)
        notes.push('risk fields are hidden (no Entra ID P2 licence)');
      sections.push(section(kind, sourceId, coverage, stats, notes));
    }
    const snapshots = await store.directorySnapshots(sourceId);
    const notes = [`${snapshots.n} complete directory snapshot(s); state at as-of is the latest snapshot at or before it`];
    if (inventory.capability(sourceId, capabilities.entraLeaveDates)?.available === false)
      notes.push('employeeLeaveDateTime is not readable: leave dates are not used');
    if (correlation.stateObservedAt)
      notes.push(`no snapshot existed at as-of; the state observed at ${correlation.stateObservedAt.toISOString()} was used`);
    // Its records are the people of the directory at as-of.
    sections.push(section('entra-directory', sourceId, null, { ...snapshots, n: correlation.people }, notes));
  }
  const metabaseStreams: [string, string][] = [
    [streams.metabaseLogins, 'login_history'],
    [streams.metabaseQueryExecutions, 'query_execution'],
    [streams.metabaseViews, 'view_log'],
    [streams.metabaseAuditEvents, 'audit_log'],
  ];
  for (const sourceId of inventory.metabaseSourceIds) {
    const notes: string[] = [];
    const lists: TimeRange[][] = [];
    for (const [stream, table] of metabaseStreams) {
      if (inventory.capability(sourceId, capabilities.metabaseTable(table))?.available === false) {
        notes.push(`${table} is not available in this Metabase (edition or version): rules that need it are not evaluable`);
        continue;
      }
      if (stream === streams.metabaseLogins && inventory.capability(sourceId, capabilities.metabaseLoginHistory)?.available === false) {
        notes.push('login history is only in the application database, which was not collected');
        continue;
      }
      lists.push(clip(inventory.coverage(sourceId, stream), period));
      const oldest = inventory.oldestAvailable(sourceId, stream);
      if (oldest && oldest.getTime() > period.from.getTime())
        notes.push(`${table}: Metabase kept rows only from ${oldest.toISOString()} (retention)`);
    }
    // What the REST path cannot see (recorded by the API reader), said rather than left out.
    for (const limit of metabaseApiLimits) {
      const capability = inventory.capability(sourceId, capabilities.metabaseColumn(limit.table, limit.column));
      if (capability?.available === false && capability.reason) notes.push(`through the API: ${capability.reason}`);
    }
    const coverage = intersect(lists);
    const stats = await store.metabaseEventSpan(sourceId, period);
    sections.push(section('metabase', sourceId, coverage, stats, notes));
  }
  return sections;
}

async function buildStatistics(store: SourcesRepository, correlation: CorrelationResult, period: TimeRange): Promise<Statistics> {
  const appIds = correlation.inventory.metabaseAppIds;
  const weeks = await store.signInsPerWeek(appIds, period);
  const mfa = weeks.reduce((sum, w) => ({ mfa: sum.mfa + w.mfa, known: sum.known + w.known }), { mfa: 0, known: 0 });
  const m = correlation.matches;
  return {
    signInsPerWeek: weeks.map((w) => ({ week: new Date(w.week).toISOString().slice(0, 10), successful: w.successful, failed: w.failed })),
    mfaShare: mfa.known > 0 ? Math.round((mfa.mfa / mfa.known) * 10_000) / 10_000 : null,
    loginsExplained: {
      explained: m.explained,
      unexplained: m.unexplained + m['password-session'] + m.unlinked,
      notEvaluable: m['not-evaluable'],
    },
  };
}

function methodology(correlation: CorrelationResult): string[] {
  return [
    'Evidence: Microsoft Entra ID sign-ins (Metabase application ids only), directory audits and directory snapshots were collected through Microsoft Graph; Metabase accounts, groups, logins, sessions, query executions, views and audit events from its application database or API. Every record is stored verbatim with a SHA-256 hash chain (accesstrail verify --store).',
    'Coverage: a source counts as collected only for the time ranges a collection completed; instants outside coverage are reported as not evaluable, never as "nothing happened".',
    "Identity: a Metabase account is linked to an Entra person when its e-mail equals exactly one person's UPN, mail, other mails, smtp proxy addresses, earlier UPNs or guest home address (case-insensitive); ambiguous e-mails are not linked; API-key and internal accounts are never linked.",
    `Period and as-of: rules about events consider events in [period start, as-of); rules about state read the latest snapshot at or before as-of (${correlation.asOf.toISOString()}).`,
    "Metabase scheduled deliveries: queries that dashboard subscriptions and alerts run (query_execution.context dashboard-subscription or pulse) run as the subscription's owner; they are shown as scheduled deliveries of a subscription owned by that person, not as the person running a query, and do not count as the owner's own activity (docs/rules.md).",
    'SSO: a Metabase login is explained by a successful Entra sign-in of the linked person to the Metabase application within the configured window around it; the IP address only breaks ties.',
    'Rules, parameters and the SQL behind every rule are listed in the rules appendix and kept in the accesstrail repository beside each rule (src/correlation/rules/sql).',
    'Integrity: the content hash covers the whole report except its generation instant; the Ed25519 signature covers the content hash and the generation instant.',
  ];
}
