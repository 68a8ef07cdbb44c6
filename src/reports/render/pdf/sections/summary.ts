// The executive summary: control status counts, findings by severity and by rule, and the charts (sign-ins per week, multi-factor share, logins explained by single sign-on).
import type { ControlSection, Severity } from '../../../model.js';
import { stackedBar, weeklySignInsChart } from '../charts.js';
import type { Pen } from '../pen.js';
import { COLOURS, CONTENT_WIDTH, STATUS_TEXT, statusColour } from '../style.js';
import { count, when } from '../text.js';

export async function drawSummary(pen: Pen): Promise<void> {
  const { plan, newPage, heading, paragraph, table, openSection, model } = pen;
  newPage();
  openSection('summary');
  const statusCounts = { effective: 0, exceptions: 0, incomplete: 0, 'not-evaluable': 0 } as Record<ControlSection['status'], number>;
  for (const control of model.controls) statusCounts[control.status] += 1;
  const severityCounts: Record<Severity, number> = { high: 0, medium: 0, low: 0 };
  for (const finding of model.findings) severityCounts[finding.severity] += 1;
  paragraph(
    `This report covers ${when(model.period.from)} to ${when(model.period.to)}, with state evaluated as of ${when(model.asOf)}. ` +
      `Of ${model.controls.length} controls, ${statusCounts.effective} are effective, ${statusCounts.exceptions} have exceptions, ${statusCounts.incomplete} are incomplete and ${statusCounts['not-evaluable']} are not evaluable. ` +
      `The rules raised ${count(model.findings.length)} findings (${severityCounts.high} high, ${severityCounts.medium} medium, ${severityCounts.low} low) over ${count(model.populations.humanAccounts.length)} human Metabase accounts.`,
  );
  heading('Control status', 2);
  await table(
    model.controls,
    [
      { header: 'Control', width: 55, cell: (control) => control.id },
      { header: 'Title', width: 250, cell: (control) => control.title },
      { header: 'Status', width: 90, colourOf: statusColour, cell: (control) => STATUS_TEXT[control.status] },
      { header: 'Findings', width: 50, align: 'right', cell: (control) => count(control.findingIds.length) },
      {
        header: 'Page',
        width: CONTENT_WIDTH - 445,
        align: 'right',
        cell: (control) => (plan ? String(plan.pages.get(`control:${control.id}`) ?? '') : ''),
      },
    ],
    { lines: 1, size: 8.5 },
  );
  heading('Findings by severity', 2);
  await table(
    ['high', 'medium', 'low'] as const,
    [
      { header: 'Severity', width: 100, cell: (severity) => severity },
      { header: 'Findings', width: 80, align: 'right', cell: (severity) => count(severityCounts[severity]) },
    ],
    { lines: 1, size: 8.5 },
  );
  heading('Findings by rule', 2);
  await table(
    model.rules,
    [
      { header: 'Rule', width: 130, cell: (rule) => rule.id },
      { header: 'Title', width: 150, cell: (rule) => rule.title },
      { header: 'Severity', width: 50, cell: (rule) => rule.severity },
      { header: 'Status', width: 75, colourOf: statusColour, cell: (rule) => rule.status },
      { header: 'Findings', width: 50, align: 'right', cell: (rule) => count(rule.findingCount) },
      { header: 'Not judged', width: CONTENT_WIDTH - 455, align: 'right', cell: (rule) => count(rule.notEvaluableCount) },
    ],
    { lines: 1, size: 8 },
  );
  paragraph(
    '"Not judged" counts the instants (logins, sign-ins) a rule could not evaluate because a source had no coverage at that time; they are never counted as passing.',
    { size: 7.5, colour: COLOURS.muted },
  );

  const weeks = model.statistics.signInsPerWeek;
  weeklySignInsChart(pen, weeks);

  const mfa = model.statistics.mfaShare;
  if (mfa === null) {
    heading('Multi-factor authentication', 2);
    paragraph(
      'Not available: the collected sign-ins do not state which authentication was required (Microsoft Graph v1.0 data), so the share of multi-factor sign-ins is unknown.',
    );
  } else {
    const successful = weeks.reduce((sum, week) => sum + week.successful, 0);
    const withMfa = Math.round(successful * mfa);
    stackedBar(
      pen,
      'Multi-factor authentication share',
      [
        { label: 'multi-factor', value: withMfa, colour: COLOURS.effective },
        { label: 'single-factor', value: successful - withMfa, colour: COLOURS.exceptions },
      ],
      `${(mfa * 100).toFixed(1)}% of successful sign-ins to Metabase required multi-factor authentication.`,
    );
  }
  const logins = model.statistics.loginsExplained;
  stackedBar(
    pen,
    'Metabase logins explained by single sign-on',
    [
      { label: 'explained by an Entra ID sign-in', value: logins.explained, colour: COLOURS.effective },
      { label: 'unexplained', value: logins.unexplained, colour: COLOURS.exceptions },
      { label: 'not evaluable (no coverage)', value: logins.notEvaluable, colour: COLOURS.neutral },
    ],
    'A Metabase login is explained when a successful Entra ID sign-in of the same person to the Metabase application falls shortly before or after it (rule sso-bypass). Logins at times without sign-in coverage are not evaluable.',
  );
}
