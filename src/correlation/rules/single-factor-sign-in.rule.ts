// single-factor-sign-in — successful Metabase app sign-ins whose
// authenticationRequirement is singleFactorAuthentication. One finding per person.
// Not evaluable when the period's sign-ins carry no authenticationRequirement (v1.0-only
// data, or imported from an export without that column); a sign-in without it counts as
// not evaluable. Imports map the admin center's labels ("Single-factor authentication")
// to Graph's enum (src/collectors/entra/import/values.ts), so the comparison below holds.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// Choice: a period with no sign-in at all, collected from beta, is evaluated (nothing to
// flag); one whose sign-ins all lack the field is not evaluable.
import { sql } from 'kysely';

import { capabilities } from '../../store/streams.js';
import type { RuleContext } from '../types.js';
import { needsEntraSignIns, signInFieldOutcome, successfulAppSignInsInPeriod } from './common.js';
import { defineRule } from './define-rule.js';

const id = 'single-factor-sign-in';

function statements(context: RuleContext) {
  const base = successfulAppSignInsInPeriod(context);
  return {
    carriesRequirement: sql<{ total: number; with_requirement: number }>`
      select count(*)::int as total, count(s.authentication_requirement)::int as with_requirement ${base}`,
    singleFactor: sql<{ user_id: string; user_principal_name: string | null; upstream_id: string; occurred_at: Date }>`
      select s.user_id, s.user_principal_name, s.upstream_id, s.occurred_at ${base}
        and s.authentication_requirement = 'singleFactorAuthentication'
      order by s.user_id, s.occurred_at, s.upstream_id`,
  };
}

export const singleFactorSignIn = defineRule(id, {
  precondition: needsEntraSignIns,
  statements,
  async findings(context, query) {
    const counts = (await query.carriesRequirement.execute(context.db)).rows[0] ?? { total: 0, with_requirement: 0 };
    const v1Only = context.inventory.entraSourceIds.every(
      (source) => context.inventory.capability(source, capabilities.entraSignInsBeta)?.available === false,
    );
    const missing =
      'no sign-in of the period carries authenticationRequirement (sign-ins were collected from Graph v1.0, not beta, or imported from an export without that column)';
    return signInFieldOutcome(
      context,
      id,
      { counts, carrying: counts.with_requirement, unavailable: counts.total === 0 && v1Only, missing },
      query.singleFactor,
      (signIns, who) => `${signIns.length} successful Metabase sign-in(s) of ${who} with single-factor authentication`,
    );
  },
});
