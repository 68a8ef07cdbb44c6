// Appendix C: every rule with the parameters it was evaluated with.
import type { Pen } from '../pen.js';
import { CONTENT_WIDTH } from '../style.js';
import { parameterLines } from '../text.js';

export async function drawRules(pen: Pen): Promise<void> {
  const { newPage, paragraph, table, openSection, model } = pen;
  newPage();
  openSection('appendix-c');
  paragraph(
    'The parameters each rule was evaluated with. Defaults come from the rule catalogue (reports/catalogues/rules.json) and can be changed there or with ACCESSTRAIL_RULE_<RULE>_<PARAM>; a change of parameters changes the report content hash.',
  );
  await table(
    model.rules,
    [
      { header: 'Rule', width: 125, cell: (rule) => [rule.id, rule.title] },
      { header: 'Severity', width: 50, cell: (rule) => rule.severity },
      { header: 'Status', width: 70, cell: (rule) => rule.status },
      {
        header: 'Parameters',
        width: 150,
        cell: (rule) => (Object.keys(rule.parameters).length === 0 ? ['none'] : parameterLines(rule.parameters, ' = ')),
      },
      { header: 'Reason if not evaluable', width: CONTENT_WIDTH - 395, cell: (rule) => rule.reason ?? '-' },
    ],
    { maxLines: 6 },
  );
}
