// Ties each rule file to its entry in the rule catalogue (reports/catalogues/rules.json):
// one file and one registration per catalogue rule, the same ids, no severity or
// parameter default written in a rule file (defineRule takes them from the catalogue),
// and the parameters a rule reads are exactly the ones its entry lists.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { numberParameter } from '../../src/correlation/parameters.js';
import { loadRuleCatalogue } from '../../src/correlation/rule-catalogue.js';
import { defineRule } from '../../src/correlation/rules/define-rule.js';
import { rules } from '../../src/correlation/rules/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rulesDir = path.join(root, 'src/correlation/rules');
const catalogue = loadRuleCatalogue();
const ruleFiles = readdirSync(rulesDir)
  .filter((name) => name.endsWith('.rule.ts'))
  .sort();
const sourceOf = (file: string) => readFileSync(path.join(root, file), 'utf8');

// A rule reads a parameter as numberParameter(context.parameters, 'name') or
// listParameter<T>(context.parameters, 'name'); a third argument would be a default.
const parameterRead = /(?:number|list)Parameter(?:<[^>]*>)?\(\s*context\.parameters\s*,\s*'(\w+)'\s*(,)?/g;

// sso-bypass's window parameters feed the login matching, which runs before the rules
// (correlate.ts reads them from the rule's parameters and hands them to matching.ts).
const readElsewhere: Record<string, { file: string; pattern: RegExp }> = {
  'sso-bypass': { file: 'src/correlation/correlate.ts', pattern: /numberParameter\(bypass, '(\w+)'/g },
};

function parametersRead(ruleId: string, file: string): string[] {
  const names = [...sourceOf(file).matchAll(parameterRead)].map((match) => match[1]!);
  const elsewhere = readElsewhere[ruleId];
  if (elsewhere) names.push(...[...sourceOf(elsewhere.file).matchAll(elsewhere.pattern)].map((match) => match[1]!));
  return [...new Set(names)].sort();
}

describe('rule files and the rule catalogue', () => {
  it('registers every catalogue rule exactly once, in the catalogue order', () => {
    expect(rules.map((rule) => rule.id)).toEqual(catalogue.rules.map((rule) => rule.id));
  });

  it('has exactly one rule file per catalogue rule, named by its id', () => {
    expect(ruleFiles).toEqual(catalogue.rules.map((rule) => `${rule.id}.rule.ts`).sort());
    for (const rule of rules) expect(ruleFiles).toContain(path.basename(rule.file));
  });

  it.each(rules.map((rule) => [rule.id, rule] as const))(
    '%s: one defineRule with its own id, severity and parameters from the catalogue',
    (id, rule) => {
      const entry = catalogue.rules.find((candidate) => candidate.id === id)!;
      const source = sourceOf(rule.file);
      expect(source.match(/defineRule\(/g)).toHaveLength(1);
      expect(source).toContain(`const id = '${id}';`);
      // Severity and defaults live in the catalogue only.
      expect(source).not.toMatch(/\bseverity\s*:/);
      expect(source).not.toMatch(/'(high|medium|low)' as const/);
      const defaults = [...source.matchAll(parameterRead)].filter((match) => match[2] === ',').map((match) => match[1]);
      expect(defaults, `parameters read with a default in ${rule.file}`).toEqual([]);
      expect(rule.severity).toBe(entry.severity);
      expect(rule.title).toBe(entry.title);
      expect(rule.controls).toEqual(entry.controls);
      expect(parametersRead(id, rule.file)).toEqual(Object.keys(entry.parameters).sort());
    },
  );

  it('refuses a rule the catalogue does not list, and names a parameter the catalogue lacks', () => {
    expect(() =>
      defineRule('no-such-rule', {
        statements: () => ({}),
        findings: async () => ({ status: 'evaluated', reason: null, findings: [], notEvaluableCount: 0, detail: {} }),
      }),
    ).toThrow(/rule no-such-rule has no entry in reports\/catalogues\/rules\.json/);
    expect(() => numberParameter({}, 'thresholdDays')).toThrow(
      /thresholdDays is not set: it is missing from the rule's entry in reports\/catalogues\/rules\.json/,
    );
  });
});
