// unlinked-account — at as-of, an active human Metabase account has no link (no match,
// or ambiguous). One finding per account.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
import { sql } from 'kysely';

import type { RuleContext } from '../types.js';
import { accountFinding, activeHumanAccounts, findingPerRow, iso, needsMetabaseAccountsAndEntraDirectory } from './common.js';
import { defineRule } from './define-rule.js';

const id = 'unlinked-account';

async function statements(context: RuleContext) {
  return {
    unlinked: sql<{
      source_id: string;
      account_id: number;
      email: string | null;
      sso_source: string | null;
      date_joined: Date | null;
      last_login: Date | null;
      link_status: string | null;
      candidates: string[] | null;
    }>`
      select a.source_id, a.account_id, a.email, a.sso_source, a.date_joined, a.last_login, a.link_status, a.candidates
      from ${await activeHumanAccounts(context)} a
      where a.link_status is distinct from 'linked'
      order by a.source_id, a.account_id`,
  };
}

export const unlinkedAccount = defineRule(id, {
  precondition: needsMetabaseAccountsAndEntraDirectory,
  statements,
  findings: (context, query) =>
    findingPerRow(context, query.unlinked, (row) => {
      const ambiguous = row.link_status === 'ambiguous';
      return accountFinding(
        id,
        row,
        { personId: null, upn: null },
        {
          summary: ambiguous
            ? `Metabase account ${row.email ?? row.account_id} matches ${row.candidates?.length ?? 2} Entra people and is not linked`
            : `Metabase account ${row.email ?? row.account_id} matches no Entra person`,
          firstSeen: iso(row.date_joined),
          lastSeen: iso(row.last_login),
          evidenceAt: iso(row.date_joined),
          detail: {
            ssoSource: row.sso_source,
            dateJoined: iso(row.date_joined)?.toISOString() ?? null,
            lastLogin: iso(row.last_login)?.toISOString() ?? null,
            ambiguity: ambiguous ? row.candidates : null,
          },
        },
      );
    }),
});
