// What the correlation stage produces and how rules see the store.
import type { Kysely, RawBuilder } from 'kysely';

import type { TimeRange } from '../store/collection.repository.js';
import type { Database } from '../store/schema.js';
import type { StateTableName } from '../store/tables.js';

export type Severity = 'high' | 'medium' | 'low';

export interface EvidenceRef {
  /** Where the record lives: entra-sign-in, entra-directory-audit, metabase-login, ... */
  source: string;
  /** Its upstream id (Graph id, Metabase row id, credential key id). */
  id: string;
  at: Date | null;
}

export interface FindingSubject {
  personId: string | null;
  upn: string | null;
  metabaseAccountId: string | null;
  email: string | null;
  credentialId: string | null;
  source: string | null;
}

export interface RuleFinding {
  id: string;
  rule: string;
  severity: Severity;
  subject: FindingSubject;
  summary: string;
  firstSeen: Date | null;
  lastSeen: Date | null;
  evidence: EvidenceRef[];
  detail: Record<string, unknown>;
}

export interface RuleOutcome {
  status: 'evaluated' | 'not-evaluable';
  reason: string | null;
  findings: RuleFinding[];
  /** Instants or records the rule could not judge (outside coverage). */
  notEvaluableCount: number;
  detail: Record<string, unknown>;
}

/** The sources in the store and what they cover, read once per correlation. */
export interface Inventory {
  entraSourceIds: string[];
  metabaseSourceIds: string[];
  metabaseAppIds: string[];
  adminGroupIds: string[];
  /** Merged covered ranges of a stream (all sources of that stream when sourceId is null). */
  coverage(sourceId: string, stream: string): TimeRange[];
  capability(sourceId: string, capability: string): { available: boolean; reason: string | null } | undefined;
  /** Latest observation of the oldest row an upstream log still held. */
  oldestAvailable(sourceId: string, stream: string): Date | null | undefined;
}

/** Names for subjects, read once per correlation. */
export interface Directory {
  personUpn(personId: string): string | null;
  accountEmail(metabaseSourceId: string, accountId: number | string): string | null;
}

export interface RuleContext {
  db: Kysely<Database>;
  runId: number;
  directory: Directory;
  /** SQL for the latest version of each object of a state table at as-of (see state.ts). */
  stateAt(table: StateTableName): Promise<RawBuilder<unknown>>;
  /** The observation window [from, to); `to` is never later than asOf. */
  period: TimeRange;
  asOf: Date;
  parameters: Record<string, unknown>;
  inventory: Inventory;
}

/** One statement of a rule, compiled for review (and for EXPLAIN in bench/correlate.ts). */
export interface CompiledStatement {
  name: string;
  sql: string;
  /** The values bound to $1, $2, … */
  parameters: readonly unknown[];
}

/** A finding rule, made by defineRule (rules/define-rule.ts): title, severity, controls
 *  and default parameters are the rule's entry in reports/catalogues/rules.json. */
export interface Rule {
  id: string;
  title: string;
  severity: Severity;
  controls: string[];
  /** The catalogue's default parameters (a run's ACCESSTRAIL_RULE_* settings override them). */
  parameters: Record<string, unknown>;
  /** The rule's file, relative to the repository. */
  file: string;
  /** Evaluates the rule over the store. */
  evaluate(context: RuleContext): Promise<RuleOutcome>;
  /** The SQL statements evaluate runs, compiled with `context` (kept in review beside
   *  the rule files, src/correlation/rules/sql/). */
  statements(context: RuleContext): Promise<CompiledStatement[]>;
}
