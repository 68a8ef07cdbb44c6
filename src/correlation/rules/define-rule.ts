// defineRule(id, definition): how a rule file becomes a Rule. The id is the key of the
// rule's catalogue entry (like a store's name in defineStore); the definition declares
// only what is the rule's own: the SQL statements it runs (named Kysely RawBuilders, a function of the
// context), an optional "needs source X" check, and how the statements' rows become
// findings. What an auditor reads in the catalogue (reports/catalogues/rules.json) —
// title, severity, controls, default parameters — is taken from there and never
// repeated in the rule file, so the two cannot disagree.
//
// `evaluate` builds the statements once and hands those very builder objects to the
// rule's `findings`; `statements` compiles the same builders for review (the SQL
// snapshots beside the rule files, src/correlation/rules/sql/). There is no second copy
// of any query.
import type { RawBuilder } from 'kysely';

import { AppError } from '../../errors.js';
import { loadRuleCatalogue, type RuleEntry } from '../rule-catalogue.js';
import type { CompiledStatement, Rule, RuleContext, RuleFinding, RuleOutcome } from '../types.js';

/** The named statements of a rule. `any` rows: each statement declares its own row type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RuleStatements = Record<string, RawBuilder<any>>;

/** A finding as the rule file writes it: `rule` and `severity` come from the definition. */
export type FindingDraft = Omit<RuleFinding, 'rule' | 'severity'>;

/** An outcome as the rule file writes it (findings as drafts). */
export type OutcomeDraft = Omit<RuleOutcome, 'findings'> & { findings: FindingDraft[] };

export interface RuleDefinition<S extends RuleStatements> {
  /** "Needs source X": an outcome (from notEvaluable) when the rule cannot be judged from
   *  what was collected, null when it can. Checked before any statement runs. */
  precondition?(context: RuleContext): OutcomeDraft | null;
  /** The rule's SQL, built from the context: exactly what evaluate runs and review reads. */
  statements(context: RuleContext): S | Promise<S>;
  /** Runs the statements (the same builder objects) and turns their rows into findings. */
  findings(context: RuleContext, statements: S): Promise<OutcomeDraft>;
}

/** An outcome for a rule that cannot be judged; never a pass. */
export function notEvaluable(reason: string, extra: { notEvaluableCount?: number; detail?: Record<string, unknown> } = {}): OutcomeDraft {
  return { status: 'not-evaluable', reason, findings: [], notEvaluableCount: extra.notEvaluableCount ?? 0, detail: extra.detail ?? {} };
}

/** An outcome for a rule that was judged: its findings, what it could not judge, and detail. */
export function evaluated(
  findings: FindingDraft[],
  extra: { notEvaluableCount?: number; detail?: Record<string, unknown> } = {},
): OutcomeDraft {
  return { status: 'evaluated', reason: null, findings, notEvaluableCount: extra.notEvaluableCount ?? 0, detail: extra.detail ?? {} };
}

let catalogueEntries: Map<string, RuleEntry> | undefined;

/** The catalogue entry of a rule; a rule the catalogue does not list stops at load time. */
function catalogueEntry(id: string): RuleEntry {
  catalogueEntries ??= new Map(loadRuleCatalogue().rules.map((rule) => [rule.id, rule]));
  const entry = catalogueEntries.get(id);
  if (!entry) throw new AppError('CONFIG_INVALID', `rule ${id} has no entry in reports/catalogues/rules.json`);
  return entry;
}

/** The path of a rule's file, by the convention every rule file follows. */
export function ruleFilePath(id: string): string {
  return `src/correlation/rules/${id}.rule.ts`;
}

export function defineRule<S extends RuleStatements>(id: string, definition: RuleDefinition<S>): Rule {
  const entry = catalogueEntry(id);
  const severity = entry.severity;
  // The catalogue's defaults sit under whatever the run resolved (ACCESSTRAIL_RULE_*), so
  // a rule reads every parameter of its entry and no default lives in the rule file.
  const withDefaults = (context: RuleContext): RuleContext => ({ ...context, parameters: { ...entry.parameters, ...context.parameters } });
  return {
    id,
    title: entry.title,
    severity,
    controls: entry.controls,
    parameters: entry.parameters,
    file: ruleFilePath(id),
    async statements(context): Promise<CompiledStatement[]> {
      const full = withDefaults(context);
      const statements = await definition.statements(full);
      return Object.entries(statements).map(([name, statement]) => {
        const compiled = statement.compile(full.db);
        return { name, sql: compiled.sql, parameters: compiled.parameters };
      });
    },
    async evaluate(context): Promise<RuleOutcome> {
      const full = withDefaults(context);
      const draft = definition.precondition?.(full) ?? (await definition.findings(full, await definition.statements(full)));
      // Key order as before: id, rule, severity, then the rest of the finding.
      return {
        ...draft,
        findings: draft.findings.map(({ id: findingId, ...finding }) => ({ id: findingId, rule: id, severity, ...finding })),
      };
    },
  };
}
