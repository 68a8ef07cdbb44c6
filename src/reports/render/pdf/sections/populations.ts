// Appendix A: the complete populations an auditor samples from (A.1 to A.6), as fixed-height tables the measuring pass counts without reading, and A.7 the reconciliation of their counts with the sources.
import type { Rows } from '../../../model.js';
import type { Pen } from '../pen.js';
import { COLOURS, CONTENT_WIDTH } from '../style.js';
import type { Field } from '../table.js';
import { count, day, when } from '../text.js';

const HUMAN_ACCOUNTS =
  'Every human Metabase account active at any time in the period, with its link to an Entra ID person, the link method, administrator rights, and activity. Dates are UTC.';

const yesNo = (value: boolean) => (value ? 'yes' : 'no');
const or = (value: string | null, fallback: string) => value ?? fallback;
/** The last column takes what the others leave of the line. */
const rest = (widths: number) => CONTENT_WIDTH - widths;

export async function drawPopulations(pen: Pen): Promise<void> {
  const { newPage, paragraph, table, openSection, model } = pen;
  const p = model.populations;
  // A population's section: its heading, what it lists, and its table, one line a row
  // in small type (60 rows a page).
  const population = <T>(key: string, rows: Rows<T>, text: { intro?: string; empty?: string }, fields: Field<T>[]) => {
    openSection(key);
    if (text.intro) paragraph(text.intro, { size: 8 });
    return table(rows, fields, { lines: 1, size: 7, empty: text.empty });
  };
  newPage();
  openSection('appendix-a');
  paragraph(
    'Complete, system-generated populations from which an auditor can sample. Each population is also delivered as a CSV file beside this report; Appendix A.7 reconciles the counts with what each source returned.',
  );
  await population('pop:human', p.humanAccounts, { intro: HUMAN_ACCOUNTS }, [
    { header: 'Account', width: 62, cell: (r) => `${r.accountId}` },
    { header: 'E-mail', width: 125, cell: (r) => or(r.email, '-') },
    { header: 'Active', width: 30, cell: (r) => yesNo(r.active) },
    { header: 'Link', width: 80, cell: (r) => (r.linkMethod ? `${r.linkStatus} (${r.linkMethod})` : r.linkStatus) },
    { header: 'Admin', width: 30, cell: (r) => yesNo(r.privileged) },
    { header: 'Joined', width: 47, cell: (r) => day(r.dateJoined) },
    { header: 'First used', width: 47, cell: (r) => day(r.firstActivity) },
    { header: 'Last used', width: 47, cell: (r) => day(r.lastActivity) },
    { header: 'Sign-in', width: rest(468), cell: (r) => day(r.lastSignIn) },
  ]);
  await population('pop:terminated', p.terminatedPeople, { empty: 'Nobody was terminated in the period.' }, [
    { header: 'Person (UPN)', width: 140, cell: (r) => r.upn ?? r.personId },
    { header: 'Terminated at', width: 75, cell: (r) => `${r.terminatedAt.slice(0, 16).replace('T', ' ')}${r.approximate ? ' ~' : ''}` },
    { header: 'Evidence of termination', width: 100, cell: (r) => r.reason },
    { header: 'Account at as-of', width: 60, cell: (r) => r.accountState },
    { header: 'Account', width: 45, cell: (r) => or(r.metabaseAccountId, '-') },
    { header: 'Last activity', width: 50, cell: (r) => day(r.lastActivity) },
    { header: 'Lag (h)', width: rest(470), align: 'right', cell: (r) => (r.removalLagHours === null ? '-' : String(r.removalLagHours)) },
  ]);
  paragraph('~ marks a termination instant approximated from the first directory snapshot that saw the account disabled.', {
    size: 7,
    colour: COLOURS.muted,
  });
  await population('pop:privileged', p.privileged, { empty: 'No privileged accounts.' }, [
    { header: 'Account', width: 55, cell: (r) => r.accountId },
    { header: 'E-mail', width: 150, cell: (r) => or(r.email, '-') },
    { header: 'Person id', width: 150, cell: (r) => or(r.personId, 'unlinked') },
    { header: 'Superuser', width: 45, cell: (r) => yesNo(r.viaSuperuser) },
    { header: 'Admin group', width: 50, cell: (r) => yesNo(r.viaAdminGroup) },
    { header: 'Justified', width: rest(450), cell: (r) => (r.justified === null ? 'not evaluable' : r.justified ? 'yes' : 'NO') },
  ]);
  await population('pop:changes', p.privilegeChanges, { empty: 'No privilege changes in the period.' }, [
    { header: 'At', width: 85, cell: (r) => when(r.at) },
    { header: 'Account', width: 55, cell: (r) => r.accountId },
    { header: 'E-mail', width: 160, cell: (r) => or(r.email, '-') },
    { header: 'Change', width: 50, cell: (r) => r.change },
    { header: 'Evidence', width: rest(350), cell: (r) => r.evidence },
  ]);
  await population('pop:nonhuman', p.nonHuman, { empty: 'No non-human accounts.' }, [
    { header: 'Account', width: 60, cell: (r) => r.accountId },
    { header: 'E-mail', width: 190, cell: (r) => or(r.email, '-') },
    { header: 'Kind', width: 50, cell: (r) => r.kind },
    { header: 'Owner', width: 150, cell: (r) => or(r.owner, 'unknown') },
    { header: 'Last use', width: rest(450), cell: (r) => day(r.lastUse) },
  ]);
  await population('pop:credentials', p.credentials, { empty: 'No credentials.' }, [
    { header: 'Credential id', width: 125, cell: (r) => r.credentialId },
    { header: 'Application id', width: 125, cell: (r) => or(r.appId, '-') },
    { header: 'Owner', width: 60, cell: (r) => or(r.ownerKind, '-') },
    { header: 'Type', width: 45, cell: (r) => or(r.type, '-') },
    { header: 'Name', width: 70, cell: (r) => or(r.displayName, '-') },
    { header: 'Start', width: 43, cell: (r) => day(r.start) },
    { header: 'End', width: rest(468), cell: (r) => day(r.end) },
  ]);
  openSection('pop:reconciliation');
  await table(
    p.reconciliation,
    [
      { header: 'Population', width: 95, cell: (r) => r.population },
      { header: 'Listed', width: 50, align: 'right', cell: (r) => count(r.count) },
      { header: 'Source count', width: 60, align: 'right', cell: (r) => count(r.sourceCount) },
      { header: 'Definition', width: rest(205), cell: (r) => r.definition },
    ],
    { maxLines: 4 },
  );
}
