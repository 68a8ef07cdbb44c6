// Framework catalogues (reports/catalogues/soc2.json, iso27001.json) and control
// status. They live as JSON so a compliance team can adjust wording and mappings without
// touching code; the rule catalogue they refer to belongs to correlation
// (src/correlation/rule-catalogue.ts). Loading validates strictly: a typo in a catalogue
// must stop the report with the file and the field named, not silently drop a control.
import path from 'node:path';

import { z } from 'zod';

import {
  defaultCatalogueDir,
  loadRuleCatalogue,
  parseCatalogue,
  readCatalogueFile,
  type RuleCatalogue,
  ruleIdPattern,
  type SourceKind,
  sourceKinds,
} from '../correlation/rule-catalogue.js';
import { AppError } from '../errors.js';
import type { ControlSection, ControlStatus, Framework, Range, RuleSection, SourceSection } from './model.js';

const controlEntrySchema = z
  .object({
    id: z.string().min(1),
    title: z.string().min(1),
    formerIds: z.array(z.string().min(1)),
    meaning: z.string().min(1),
    rules: z.array(z.string().regex(ruleIdPattern, 'must be a kebab-case rule id')).min(1),
    tested: z.string().min(20, 'must say in plain words what was tested'),
    population: z.string().min(1),
  })
  .strict();

const frameworkCatalogueSchema = z
  .object({
    framework: z.enum(['soc2', 'iso27001']),
    version: z.string().min(1),
    title: z.string().min(1),
    reference: z.string().min(1),
    controls: z.array(controlEntrySchema).min(1),
  })
  .strict();

export type ControlEntry = z.infer<typeof controlEntrySchema>;
export type FrameworkCatalogue = z.infer<typeof frameworkCatalogueSchema>;

export function parseFrameworkCatalogue(raw: unknown, rules: RuleCatalogue, file = 'framework catalogue'): FrameworkCatalogue {
  const catalogue = parseCatalogue(file, raw, frameworkCatalogueSchema);
  const known = new Set(rules.rules.map((rule) => rule.id));
  const seen = new Set<string>();
  catalogue.controls.forEach((control, index) => {
    if (seen.has(control.id))
      throw new AppError('CONFIG_INVALID', `catalogue ${file}: field controls.${index}.id repeats control ${control.id}`);
    seen.add(control.id);
    control.rules.forEach((rule, ruleIndex) => {
      if (!known.has(rule)) {
        throw new AppError(
          'CONFIG_INVALID',
          `catalogue ${file}: field controls.${index}.rules.${ruleIndex} names unknown rule ${rule} (not in rules.json)`,
        );
      }
    });
  });
  return catalogue;
}

export function loadFrameworkCatalogue(framework: Framework, dir = defaultCatalogueDir()): FrameworkCatalogue {
  const rules = loadRuleCatalogue(dir);
  const file = path.join(dir, `${framework}.json`);
  const catalogue = parseFrameworkCatalogue(readCatalogueFile(file, z.unknown()), rules, file);
  if (catalogue.framework !== framework) {
    throw new AppError('CONFIG_INVALID', `catalogue ${file}: field framework is ${catalogue.framework}, expected ${framework}`);
  }
  return catalogue;
}

// ---------------------------------------------------------------------------------
// Control status (specs/controls.md, "Status of a control")

export type RuleResult = Pick<RuleSection, 'id' | 'status' | 'reason' | 'findingCount' | 'notEvaluableCount'>;

export interface ControlStatusInput {
  /** The rules behind the control, from the framework catalogue. */
  ruleIds: readonly string[];
  /** What the rule engine reported for the period. A rule missing here was not run. */
  ruleResults: readonly RuleResult[];
  /** Sources the control relies on (union of its rules' `sources` in rules.json). */
  reliesOn: readonly SourceKind[];
  /** Sources of the report with their gaps inside the period. */
  sources: readonly Pick<SourceSection, 'kind' | 'sourceId' | 'gaps'>[];
}

export interface ControlStatusResult {
  status: ControlStatus;
  reasons: string[];
}

function describeRange(range: Range): string {
  return `${range.from} to ${range.to}`;
}

/**
 * Status of one control. Precedence: a finding is a fact, so any finding makes the
 * control "exceptions" (reasons still list what could not be evaluated, so a reader
 * knows the exceptions may not be all); else a rule without its data makes it
 * "not-evaluable"; else a coverage gap in a relied-on source (or instants a rule
 * could not judge) makes it "incomplete"; only then "effective". Missing data never
 * passes.
 */
export function controlStatus(input: ControlStatusInput): ControlStatusResult {
  const byId = new Map(input.ruleResults.map((result) => [result.id, result]));
  const notEvaluable: string[] = [];
  const incomplete: string[] = [];
  let findings = 0;

  for (const ruleId of input.ruleIds) {
    const result = byId.get(ruleId);
    if (!result) {
      notEvaluable.push(`rule ${ruleId} was not evaluated for this period`);
      continue;
    }
    findings += result.findingCount;
    if (result.status === 'not-evaluable') {
      notEvaluable.push(`rule ${ruleId} is not evaluable: ${result.reason ?? 'no reason recorded'}`);
    } else if (result.notEvaluableCount > 0) {
      incomplete.push(`rule ${ruleId} could not judge ${result.notEvaluableCount} instant(s) outside source coverage`);
    }
  }

  for (const kind of input.reliesOn) {
    const sections = input.sources.filter((source) => source.kind === kind);
    if (sections.length === 0) {
      notEvaluable.push(`no ${kind} source was collected`);
      continue;
    }
    for (const section of sections) {
      for (const gap of section.gaps) incomplete.push(`${kind} source ${section.sourceId} has no coverage from ${describeRange(gap)}`);
    }
  }

  const reasons = [...notEvaluable, ...incomplete];
  if (findings > 0) return { status: 'exceptions', reasons };
  if (notEvaluable.length > 0) return { status: 'not-evaluable', reasons };
  if (incomplete.length > 0) return { status: 'incomplete', reasons };
  return { status: 'effective', reasons: [] };
}

/** Sources a control relies on: the union of its rules' sources, in catalogue order. */
export function controlSources(control: Pick<ControlEntry, 'rules'>, rules: RuleCatalogue): SourceKind[] {
  const kinds = new Set<SourceKind>();
  for (const ruleId of control.rules) {
    for (const kind of rules.rules.find((rule) => rule.id === ruleId)?.sources ?? []) kinds.add(kind);
  }
  return sourceKinds.filter((kind) => kinds.has(kind));
}

/**
 * The control sections of a report, in catalogue order: status and reasons from
 * controlStatus, the findings of the control's rules (ids sorted for a stable hash).
 */
export function buildControlSections(input: {
  framework: FrameworkCatalogue;
  rules: RuleCatalogue;
  ruleResults: readonly RuleResult[];
  findings: readonly { id: string; rule: string }[];
  sources: readonly Pick<SourceSection, 'kind' | 'sourceId' | 'gaps'>[];
}): ControlSection[] {
  return input.framework.controls.map((control) => {
    const ruleSet = new Set(control.rules);
    const { status, reasons } = controlStatus({
      ruleIds: control.rules,
      ruleResults: input.ruleResults,
      reliesOn: controlSources(control, input.rules),
      sources: input.sources,
    });
    return {
      id: control.id,
      title: control.title,
      formerIds: [...control.formerIds],
      status,
      tested: control.tested,
      population: control.population,
      rules: [...control.rules],
      findingIds: input.findings
        .filter((finding) => ruleSet.has(finding.rule))
        .map((finding) => finding.id)
        .sort(),
      reasons,
    };
  });
}
