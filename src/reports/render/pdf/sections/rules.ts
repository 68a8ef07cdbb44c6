// Appendix C: every rule with the parameters it was evaluated with.
import type { Pen } from '../pen.js';
import { CONTENT_WIDTH } from '../style.js';

export function drawRules(pen: Pen): void {
  const { newPage, paragraph, table, openSection, model } = pen;
  newPage();
  openSection('appendix-c');
  paragraph(
    'The parameters each rule was evaluated with. Defaults come from the rule catalogue (reports/catalogues/rules.json) and can be changed there or with ACCESSTRAIL_RULE_<RULE>_<PARAM>; a change of parameters changes the report content hash.',
  );
  table(
    [
      { header: 'Rule', width: 125 },
      { header: 'Severity', width: 50 },
      { header: 'Status', width: 70 },
      { header: 'Parameters', width: 150 },
      { header: 'Reason if not evaluable', width: CONTENT_WIDTH - 395 },
    ],
    model.rules.map((rule) => [
      [rule.id, rule.title],
      rule.severity,
      rule.status,
      Object.keys(rule.parameters).length === 0
        ? ['none']
        : Object.entries(rule.parameters).map(([name, value]) => `${name} = ${JSON.stringify(value)}`),
      rule.reason ?? '-',
    ]),
    { maxLines: 6 },
  );
}
