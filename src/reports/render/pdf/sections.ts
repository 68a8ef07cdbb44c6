// The one table of the report's sections: the contents, the PDF outline (bookmarks), the
// named destinations the contents link to, and each section's heading all come from
// here, so a title changed once changes everywhere.
import type { ReportModel } from '../../model.js';
import { count } from './text.js';

export interface Section {
  key: string;
  /** As listed in the contents and the outline. */
  title: string;
  /** Indentation in the contents, nesting in the outline. */
  level: 0 | 1;
  /** The heading that opens the section (the title when not given). */
  heading?: string;
  /** Size of that heading (see Pen.heading); a control opens a page of its own, so its heading is of level 0. */
  headingLevel: 0 | 1;
}

export function sectionsOf(model: ReportModel): Section[] {
  const p = model.populations;
  return [
    { key: 'summary', title: 'Executive summary', level: 0, headingLevel: 0 },
    { key: 'controls', title: 'Controls', level: 0, headingLevel: 0 },
    ...model.controls.map((control): Section => ({
      key: `control:${control.id}`,
      title: `${control.id} ${control.title}`,
      level: 1,
      headingLevel: 0,
    })),
    { key: 'appendix-a', title: 'Appendix A. Populations', level: 0, headingLevel: 0 },
    {
      key: 'pop:human',
      title: 'A.1 Human Metabase accounts',
      heading: `A.1 Human Metabase accounts (${count(p.humanAccounts.length)})`,
      level: 1,
      headingLevel: 1,
    },
    {
      key: 'pop:terminated',
      title: 'A.2 People terminated in the period',
      heading: `A.2 People terminated in the period (${count(p.terminatedPeople.length)})`,
      level: 1,
      headingLevel: 1,
    },
    {
      key: 'pop:privileged',
      title: 'A.3 Privileged accounts',
      heading: `A.3 Privileged accounts at as-of (${count(p.privileged.length)})`,
      level: 1,
      headingLevel: 1,
    },
    {
      key: 'pop:changes',
      title: 'A.4 Privilege changes in the period',
      heading: `A.4 Privilege changes in the period (${count(p.privilegeChanges.length)})`,
      level: 1,
      headingLevel: 1,
    },
    {
      key: 'pop:nonhuman',
      title: 'A.5 Non-human accounts',
      heading: `A.5 Non-human accounts (${count(p.nonHuman.length)})`,
      level: 1,
      headingLevel: 1,
    },
    {
      key: 'pop:credentials',
      title: 'A.6 Credentials of watched applications',
      heading: `A.6 Credentials of watched applications (${count(p.credentials.length)})`,
      level: 1,
      headingLevel: 1,
    },
    { key: 'pop:reconciliation', title: 'A.7 Reconciliation with the sources', level: 1, headingLevel: 1 },
    { key: 'appendix-b', title: 'Appendix B. Coverage and gaps per source', level: 0, headingLevel: 0 },
    { key: 'appendix-c', title: 'Appendix C. Rules and parameters', level: 0, headingLevel: 0 },
    { key: 'appendix-d', title: 'Appendix D. Methodology', level: 0, headingLevel: 0 },
    { key: 'appendix-e', title: 'Appendix E. How to verify this report', level: 0, headingLevel: 0 },
  ];
}
