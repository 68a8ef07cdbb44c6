// One section per control: what was tested, over which population, the result, the rules behind it, and the exceptions with their evidence record ids.
import type { Finding } from '../../../model.js';
import { mapRows } from '../../../row-spool.js';
import { subjectLabel } from '../../oscal.js';
import type { Pen } from '../pen.js';
import { COLOURS, CONTENT_WIDTH, MARGIN, STATUS_MEANING, STATUS_TEXT } from '../style.js';
import { count, day, parameterLines, when } from '../text.js';

/** Who a finding is about: its subject, and the Metabase account when that is not already it. */
function subjectLines(finding: Finding): string[] {
  const subject = [subjectLabel(finding)];
  if (finding.subject.metabaseAccountId && subject[0] !== finding.subject.metabaseAccountId)
    subject.push(`account ${finding.subject.metabaseAccountId}`);
  return subject;
}

/** Up to five evidence ids, grouped by source so each id gets a line of its own and stays whole. */
function evidenceLines(finding: Finding): string[] {
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
  return shown;
}

export async function drawControls(pen: Pen): Promise<void> {
  const { doc, measuring, setFont, newPage, ensureSpace, heading, paragraph, bullet, labelValue, statusBadge, table, openSection, model } =
    pen;
  // Where each finding is, by id: the findings may be on disk, and are read one at a time.
  const positionOf = new Map<string, number>();
  let position = 0;
  for (const finding of model.findings) positionOf.set(finding.id, position++);
  const findingOf = (id: string): Finding | string => {
    const at = positionOf.get(id);
    return (at === undefined ? undefined : model.findings.at(at)) ?? id;
  };
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
    await table(
      control.rules.map((id) => rulesById.get(id) ?? id),
      [
        { header: 'Rule', width: 125, cell: (rule) => (typeof rule === 'string' ? rule : rule.id) },
        { header: 'Severity', width: 50, cell: (rule) => (typeof rule === 'string' ? '-' : rule.severity) },
        { header: 'Status', width: 70, cell: (rule) => (typeof rule === 'string' ? 'not run' : rule.status) },
        { header: 'Findings', width: 45, align: 'right', cell: (rule) => (typeof rule === 'string' ? '-' : count(rule.findingCount)) },
        {
          header: 'Not judged',
          width: 50,
          align: 'right',
          cell: (rule) => (typeof rule === 'string' ? '-' : count(rule.notEvaluableCount)),
        },
        {
          header: 'Reason / parameters',
          width: CONTENT_WIDTH - 340,
          cell: (rule) =>
            typeof rule === 'string'
              ? 'The rule was not evaluated for this period.'
              : (rule.reason ?? (parameterLines(rule.parameters, '=').join(', ') || 'no parameters')),
        },
      ],
      { maxLines: 4 },
    );
    heading(`Exceptions (${count(control.findingIds.length)})`, 2);
    await table(
      // Read one at a time as the table draws them.
      mapRows(control.findingIds, findingOf),
      [
        { header: 'Finding', width: 90, cell: (f) => (typeof f === 'string' ? f : [f.rule, `${f.severity} · ${f.id}`]) },
        { header: 'Subject', width: 130, cell: (f) => (typeof f === 'string' ? '-' : subjectLines(f)) },
        {
          header: 'What was found',
          width: 110,
          cell: (f) =>
            typeof f === 'string'
              ? 'finding missing from the report'
              : [f.summary, f.firstSeen ? `${day(f.firstSeen)} to ${day(f.lastSeen)}` : ''],
        },
        {
          header: 'Evidence (source, record ids)',
          width: CONTENT_WIDTH - 330,
          font: 'Courier',
          cell: (f) => (typeof f === 'string' ? '-' : evidenceLines(f)),
        },
      ],
      { maxLines: 9, empty: 'No exceptions.' },
    );
  }
}
