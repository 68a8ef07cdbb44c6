// Appendix A: the complete populations an auditor samples from (A.1 to A.6), as fixed-height tables the measuring pass counts without drawing, and A.7 the reconciliation of their counts with the sources.
import type { Pen } from '../pen.js';
import { COLOURS, CONTENT_WIDTH } from '../style.js';
import { count, day, when } from '../text.js';

export function drawPopulations(pen: Pen): void {
  const { newPage, paragraph, table, openSection, model } = pen;
  const p = model.populations;
  newPage();
  openSection('appendix-a');
  paragraph(
    'Complete, system-generated populations from which an auditor can sample. Each population is also delivered as a CSV file beside this report; Appendix A.7 reconciles the counts with what each source returned.',
  );
  openSection('pop:human');
  paragraph(
    'Every human Metabase account active at any time in the period, with its link to an Entra ID person, the link method, administrator rights, and activity. Dates are UTC.',
    { size: 8 },
  );
  table(
    [
      { header: 'Account', width: 62 },
      { header: 'E-mail', width: 125 },
      { header: 'Active', width: 30 },
      { header: 'Link', width: 80 },
      { header: 'Admin', width: 30 },
      { header: 'Joined', width: 47 },
      { header: 'First used', width: 47 },
      { header: 'Last used', width: 47 },
      { header: 'Sign-in', width: CONTENT_WIDTH - 468 },
    ],
    (function* () {
      for (const r of p.humanAccounts) {
        yield [
          `${r.accountId}`,
          r.email ?? '-',
          r.active ? 'yes' : 'no',
          r.linkMethod ? `${r.linkStatus} (${r.linkMethod})` : r.linkStatus,
          r.privileged ? 'yes' : 'no',
          day(r.dateJoined),
          day(r.firstActivity),
          day(r.lastActivity),
          day(r.lastSignIn),
        ];
      }
    })(),
    { lines: 1, size: 7 },
  );
  openSection('pop:terminated');
  table(
    [
      { header: 'Person (UPN)', width: 140 },
      { header: 'Terminated at', width: 75 },
      { header: 'Evidence of termination', width: 100 },
      { header: 'Account at as-of', width: 60 },
      { header: 'Account', width: 45 },
      { header: 'Last activity', width: 50 },
      { header: 'Lag (h)', width: CONTENT_WIDTH - 470, align: 'right' },
    ],
    (function* () {
      for (const r of p.terminatedPeople) {
        yield [
          r.upn ?? r.personId,
          `${r.terminatedAt.slice(0, 16).replace('T', ' ')}${r.approximate ? ' ~' : ''}`,
          r.reason,
          r.accountState,
          r.metabaseAccountId ?? '-',
          day(r.lastActivity),
          r.removalLagHours === null ? '-' : String(r.removalLagHours),
        ];
      }
    })(),
    { lines: 1, size: 7, empty: 'Nobody was terminated in the period.' },
  );
  paragraph('~ marks a termination instant approximated from the first directory snapshot that saw the account disabled.', {
    size: 7,
    colour: COLOURS.muted,
  });
  openSection('pop:privileged');
  table(
    [
      { header: 'Account', width: 55 },
      { header: 'E-mail', width: 150 },
      { header: 'Person id', width: 150 },
      { header: 'Superuser', width: 45 },
      { header: 'Admin group', width: 50 },
      { header: 'Justified', width: CONTENT_WIDTH - 450 },
    ],
    (function* () {
      for (const r of p.privileged)
        yield [
          r.accountId,
          r.email ?? '-',
          r.personId ?? 'unlinked',
          r.viaSuperuser ? 'yes' : 'no',
          r.viaAdminGroup ? 'yes' : 'no',
          r.justified === null ? 'not evaluable' : r.justified ? 'yes' : 'NO',
        ];
    })(),
    { lines: 1, size: 7, empty: 'No privileged accounts.' },
  );
  openSection('pop:changes');
  table(
    [
      { header: 'At', width: 85 },
      { header: 'Account', width: 55 },
      { header: 'E-mail', width: 160 },
      { header: 'Change', width: 50 },
      { header: 'Evidence', width: CONTENT_WIDTH - 350 },
    ],
    (function* () {
      for (const r of p.privilegeChanges) yield [when(r.at), r.accountId, r.email ?? '-', r.change, r.evidence];
    })(),
    { lines: 1, size: 7, empty: 'No privilege changes in the period.' },
  );
  openSection('pop:nonhuman');
  table(
    [
      { header: 'Account', width: 60 },
      { header: 'E-mail', width: 190 },
      { header: 'Kind', width: 50 },
      { header: 'Owner', width: 150 },
      { header: 'Last use', width: CONTENT_WIDTH - 450 },
    ],
    (function* () {
      for (const r of p.nonHuman) yield [r.accountId, r.email ?? '-', r.kind, r.owner ?? 'unknown', day(r.lastUse)];
    })(),
    { lines: 1, size: 7, empty: 'No non-human accounts.' },
  );
  openSection('pop:credentials');
  table(
    [
      { header: 'Credential id', width: 125 },
      { header: 'Application id', width: 125 },
      { header: 'Owner', width: 60 },
      { header: 'Type', width: 45 },
      { header: 'Name', width: 70 },
      { header: 'Start', width: 43 },
      { header: 'End', width: CONTENT_WIDTH - 468 },
    ],
    (function* () {
      for (const r of p.credentials)
        yield [r.credentialId, r.appId ?? '-', r.ownerKind ?? '-', r.type ?? '-', r.displayName ?? '-', day(r.start), day(r.end)];
    })(),
    { lines: 1, size: 7, empty: 'No credentials.' },
  );
  openSection('pop:reconciliation');
  table(
    [
      { header: 'Population', width: 95 },
      { header: 'Listed', width: 50, align: 'right' },
      { header: 'Source count', width: 60, align: 'right' },
      { header: 'Definition', width: CONTENT_WIDTH - 205 },
    ],
    p.reconciliation.map((r) => [r.population, count(r.count), count(r.sourceCount), r.definition]),
    { maxLines: 4 },
  );
}
