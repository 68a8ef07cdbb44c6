// orphaned-account — at as-of, a Metabase account is active while its linked person is
// terminated (or was deleted from Entra). One finding per account.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// Assumptions: "terminated at as-of" = an interval of the run open at as-of.
import { sql } from 'kysely';

import type { RuleContext } from '../types.js';
import { accountFinding, activeHumanAccounts, days, findingPerRow, iso, needsMetabaseAccountsAndEntraDirectory } from './common.js';
import { defineRule } from './define-rule.js';

const id = 'orphaned-account';

async function statements(context: RuleContext) {
  return {
    orphans: sql<{ source_id: string; account_id: number; email: string | null; person_id: string; started_at: Date; reason: string }>`
      select distinct on (a.source_id, a.account_id) a.source_id, a.account_id, a.email, a.person_id, i.started_at, i.reason
      from ${await activeHumanAccounts(context)} a
      join person_terminated_interval i on i.run_id = ${context.runId} and i.person_id = a.person_id
        and i.started_at <= ${context.asOf} and (i.ended_at is null or i.ended_at > ${context.asOf})
      where a.link_status = 'linked'
      order by a.source_id, a.account_id, i.started_at`,
  };
}

export const orphanedAccount = defineRule(id, {
  precondition: needsMetabaseAccountsAndEntraDirectory,
  statements,
  findings: (context, query) =>
    findingPerRow(context, query.orphans, (row) => {
      const since = days(context.asOf.getTime() - new Date(row.started_at).getTime());
      const upn = context.directory.personUpn(row.person_id);
      return accountFinding(
        id,
        row,
        { personId: row.person_id, upn },
        {
          summary: `Metabase account ${row.email ?? row.account_id} is still active although ${upn ?? row.person_id} was terminated (${row.reason}) ${since} day(s) before as-of`,
          firstSeen: iso(row.started_at),
          lastSeen: context.asOf,
          evidenceAt: context.asOf,
          detail: { terminatedAt: new Date(row.started_at).toISOString(), daysSince: since, terminationReason: row.reason },
        },
      );
    }),
});
