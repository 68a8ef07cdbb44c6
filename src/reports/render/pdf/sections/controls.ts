// One section per control: what was tested, over which population, the result, the rules behind it, and the exceptions with their evidence record ids.
import type { Finding } from '../../../model.js';
import { subjectLabel } from '../../oscal.js';
import type { Pen } from '../pen.js';
import { COLOURS, CONTENT_WIDTH, MARGIN, STATUS_MEANING, STATUS_TEXT } from '../style.js';
import { count, day, when } from '../text.js';

export function drawControls(pen: Pen): void {
  const { doc, measuring, setFont, newPage, ensureSpace, heading, paragraph, bullet, labelValue, statusBadge, table, openSection, model } =
    pen;
  const findingsById = new Map<string, Finding>(model.findings.map((finding) => [finding.id, finding]));
  const rulesById = new Map(model.rules.map((rule) => [rule.id, rule]));
  newPage();
  openSection('controls');
  paragraph(
    'Each control below states what was tested, over which population, the result, and the exceptions with the evidence records that support them. Evidence ids are the upstream ids of the stored records (Entra ID sign-in or audit ids, Metabase row ids); the full list per finding is in the report JSON and in findings.csv.',
  );
  paragraph(
    'Status meanings: EFFECTIVE, every rule behind the control was evaluated over full coverage and found nothing; EXCEPTIONS, at least one finding; INCOMPLETE, evaluated but part of the period lacks coverage for a source the control relies on; NOT EVALUABLE, a rule lacked the data it needs. Missing data is never reported as effective.',
    { size: 8.5, colour: COLOURS.muted },
  );
  for (const control of model.controls) {
    newPage();
    openSection(`control:${control.id}`);
    if (control.formerIds.length > 0)
      paragraph(`Replaces ISO/IEC 27001:2013 ${control.formerIds.join(', ')}.`, { size: 8.5, colour: COLOURS.muted });
    ensureSpace(20);
    {
      const y = doc.y;
      setFont('Helvetica-Bold', 9);
      doc.text('Result', MARGIN.left, y + 1, { lineBreak: false });
      if (!measuring) statusBadge(control.status, MARGIN.left + 120, y);
      doc.y = y + 16;
    }
    labelValue([
      ['Findings', count(control.findingIds.length)],
      ['Rules applied', control.rules.join(', ')],
      ['Period', `${when(model.period.from)} to ${when(model.period.to)}`],
    ]);
    heading('What was tested', 2);
    paragraph(control.tested);
    heading('Population', 2);
    paragraph(control.population);
    heading('Result', 2);
    paragraph(`${STATUS_TEXT[control.status]}. ${STATUS_MEANING[control.status]}`);
    for (const reason of control.reasons) bullet(reason);
    heading('Rules behind this control', 2);
    table(
      [
        { header: 'Rule', width: 125 },
        { header: 'Severity', width: 50 },
        { header: 'Status', width: 70 },
        { header: 'Findings', width: 45, align: 'right' },
        { header: 'Not judged', width: 50, align: 'right' },
        { header: 'Reason / parameters', width: CONTENT_WIDTH - 340 },
      ],
      control.rules.map((ruleId) => {
        const rule = rulesById.get(ruleId);
        if (!rule) return [ruleId, '-', 'not run', '-', '-', 'The rule was not evaluated for this period.'];
        const parameters = Object.entries(rule.parameters)
          .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
          .join(', ');
        return [
          rule.id,
          rule.severity,
          rule.status,
          count(rule.findingCount),
          count(rule.notEvaluableCount),
          rule.reason ?? (parameters || 'no parameters'),
        ];
      }),
      { maxLines: 4 },
    );
    heading(`Exceptions (${count(control.findingIds.length)})`, 2);
    table(
      [
        { header: 'Finding', width: 90 },
        { header: 'Subject', width: 130 },
        { header: 'What was found', width: 110 },
        { header: 'Evidence (source, record ids)', width: CONTENT_WIDTH - 330, font: 'Courier' },
      ],
      (function* () {
        for (const id of control.findingIds) {
          const finding = findingsById.get(id);
          if (!finding) {
            yield [id, '-', 'finding missing from the report', '-'];
            continue;
          }
          const subject = [subjectLabel(finding)];
          if (finding.subject.metabaseAccountId && subject[0] !== finding.subject.metabaseAccountId)
            subject.push(`account ${finding.subject.metabaseAccountId}`);
          // Grouped by source so each id gets a line of its own and stays whole.
          const shown: string[] = [];
          const bySource = new Map<string, string[]>();
          for (const ref of finding.evidence) bySource.set(ref.source, [...(bySource.get(ref.source) ?? []), ref.id]);
          let listed = 0;
          for (const [source, ids] of bySource) {
            if (listed >= 5) break;
            shown.push(`${source} (${ids.length}):`);
            for (const evidenceId of ids.slice(0, 5 - listed)) shown.push(evidenceId);
            listed += Math.min(ids.length, 5 - listed);
          }
          if (finding.evidence.length > listed) shown.push(`and ${finding.evidence.length - listed} more (report JSON, findings.csv)`);
          if (shown.length === 0) shown.push('(no event records: see the finding detail in the JSON)');
          yield [
            [`${finding.rule}`, `${finding.severity} · ${finding.id}`],
            subject,
            [finding.summary, finding.firstSeen ? `${day(finding.firstSeen)} to ${day(finding.lastSeen)}` : ''],
            shown,
          ];
        }
      })(),
      { maxLines: 9, empty: 'No exceptions.' },
    );
  }
}
