// sso-bypass — a Metabase login of a human account that no successful Metabase app
// sign-in of the linked person explains (window [login − before, login + after]); a
// login whose session used the `password` auth identity; every login of an unlinked
// human account. Logins whose window lies outside Entra sign-in coverage are not
// evaluable and counted. One finding per account.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// Assumptions: the matching itself is matching.ts (stored as login_match of the run).
import { sql } from 'kysely';

import { capabilities } from '../../store/streams.js';
import type { RuleContext } from '../types.js';
import { findingId, groupBy, iso } from './common.js';
import { defineRule, evaluated, notEvaluable } from './define-rule.js';

const id = 'sso-bypass';

function statements(context: RuleContext) {
  return {
    bypasses: sql<{
      metabase_source_id: string;
      account_id: number;
      person_id: string | null;
      login_id: string;
      login_at: Date;
      outcome: string;
    }>`
      select metabase_source_id, account_id, person_id, login_id, login_at, outcome
      from login_match
      where run_id = ${context.runId} and outcome in ('unexplained', 'password-session', 'unlinked')
      order by metabase_source_id, account_id, login_at, login_id`,
    notEvaluable: sql<{ n: number }>`
      select count(*)::int as n from login_match where run_id = ${context.runId} and outcome = 'not-evaluable'`,
  };
}

export const ssoBypass = defineRule(id, {
  precondition(context) {
    const { metabaseSourceIds, entraSourceIds } = context.inventory;
    if (metabaseSourceIds.length === 0) return notEvaluable('no Metabase logins have been collected');
    const withoutHistory = metabaseSourceIds.filter(
      (source) => context.inventory.capability(source, capabilities.metabaseLoginHistory)?.available === false,
    );
    if (withoutHistory.length === metabaseSourceIds.length) {
      return notEvaluable('Metabase login history is only in the application database, which is not collected (API only)');
    }
    if (entraSourceIds.length === 0) return notEvaluable('no Entra sign-ins have been collected');
    return null;
  },
  statements,
  async findings(context, query) {
    const { rows } = await query.bypasses.execute(context.db);
    const notEvaluableLogins = (await query.notEvaluable.execute(context.db)).rows[0]?.n ?? 0;
    const findings = groupBy(rows, (row) => `${row.metabase_source_id}|${row.account_id}`).map((logins) => {
      const first = logins[0]!;
      const last = logins[logins.length - 1]!;
      const email = context.directory.accountEmail(first.metabase_source_id, first.account_id);
      const reasons = [...new Set(logins.map((l) => l.outcome))];
      const why = reasons
        .map((r) =>
          r === 'unlinked'
            ? 'the account is linked to no Entra person'
            : r === 'password-session'
              ? 'the session used a Metabase password'
              : 'no Entra sign-in explains it',
        )
        .join('; ');
      return {
        id: findingId(id, first.metabase_source_id, first.account_id),
        subject: {
          personId: first.person_id,
          upn: first.person_id ? context.directory.personUpn(first.person_id) : null,
          metabaseAccountId: String(first.account_id),
          email,
          credentialId: null,
          source: first.metabase_source_id,
        },
        summary: `${logins.length} Metabase login(s) of ${email ?? first.account_id} bypassed SSO: ${why}`,
        firstSeen: iso(first.login_at),
        lastSeen: iso(last.login_at),
        evidence: logins.map((l) => ({ source: 'metabase-login', id: l.login_id, at: iso(l.login_at) })),
        detail: {
          logins: logins.length,
          outcomes: Object.fromEntries(reasons.map((r) => [r, logins.filter((l) => l.outcome === r).length])),
        },
      };
    });
    return evaluated(findings, { notEvaluableCount: notEvaluableLogins, detail: { notEvaluableLogins } });
  },
});
