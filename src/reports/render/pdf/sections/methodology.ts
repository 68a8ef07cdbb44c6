// Appendix D: methodology, the period and as-of semantics, and what each control status means.
import type { Pen } from '../pen.js';
import { STATUS_MEANING, STATUS_TEXT } from '../style.js';
import { when } from '../text.js';

export function drawMethodology(pen: Pen): void {
  const { newPage, heading, paragraph, bullet, openSection, model } = pen;
  newPage();
  openSection('appendix-d');
  for (const line of model.methodology) bullet(line);
  heading('Period, as-of and generation', 2);
  paragraph(
    `The period runs from ${when(model.period.from)} (included) to ${when(model.period.to)} (excluded). Rules about events look only at events inside the period; rules about state (accounts, memberships, credentials) look at the state as of ${when(model.asOf)}${model.stateObservedAt ? `, observed at ${when(model.stateObservedAt)} (a Metabase account deactivated after as-of counts as active at as-of)` : ''}. The report was generated at ${when(model.generatedAt)}${model.provisional ? '; the period had not ended, so the report is provisional' : ''}.`,
  );
  heading('Control status', 2);
  for (const status of ['effective', 'exceptions', 'incomplete', 'not-evaluable'] as const)
    bullet(`${STATUS_TEXT[status]}: ${STATUS_MEANING[status]}`);
}
