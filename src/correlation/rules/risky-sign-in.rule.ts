// risky-sign-in — a successful Metabase app sign-in with riskLevelDuringSignIn in the
// levels, or (on its own) riskState atRisk or confirmedCompromised. One finding per
// person. `hidden` (no P2 licence) makes the rule not evaluable. A sign-in without any
// risk field (imported from an export that has no risk columns, e.g. the admin center's
// CSV download) cannot be judged: it counts as not evaluable, and a period whose
// sign-ins all lack them is not evaluable — never "0 findings".
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
import { sql } from 'kysely';

import { capabilities } from '../../store/streams.js';
import { listParameter } from '../parameters.js';
import type { RuleContext } from '../types.js';
import { needsEntraSignIns, signInFieldOutcome, successfulAppSignInsInPeriod } from './common.js';
import { defineRule, notEvaluable } from './define-rule.js';

const id = 'risky-sign-in';

function statements(context: RuleContext) {
  const levels = listParameter<string>(context.parameters, 'levels');
  const states = listParameter<string>(context.parameters, 'riskStates');
  const base = successfulAppSignInsInPeriod(context);
  return {
    // One pass over the period's successful sign-ins for both counts (each was a scan).
    counts: sql<{ total: number; with_risk: number; hidden: number }>`
      select count(*)::int as total, count(*) filter (where s.risk_level_during_sign_in is not null or s.risk_state is not null)::int as with_risk,
             count(*) filter (where s.risk_level_during_sign_in = 'hidden')::int as hidden ${base}`,
    risky: sql<{
      user_id: string;
      user_principal_name: string | null;
      upstream_id: string;
      occurred_at: Date;
      risk_level_during_sign_in: string | null;
      risk_state: string | null;
    }>`
      select s.user_id, s.user_principal_name, s.upstream_id, s.occurred_at, s.risk_level_during_sign_in, s.risk_state ${base}
        and (s.risk_level_during_sign_in = any(${levels}::text[]) or s.risk_state = any(${states}::text[]))
      order by s.user_id, s.occurred_at, s.upstream_id`,
  };
}

export const riskySignIn = defineRule(id, {
  precondition: needsEntraSignIns,
  statements,
  async findings(context, query) {
    const { total, with_risk, hidden } = (await query.counts.execute(context.db)).rows[0] ?? { total: 0, with_risk: 0, hidden: 0 };
    const noP2 = context.inventory.entraSourceIds.some(
      (source) => context.inventory.capability(source, capabilities.entraRiskFields)?.available === false,
    );
    if (hidden > 0 || noP2) {
      return notEvaluable('risk levels are `hidden`: the tenant has no Entra ID P2 licence', {
        notEvaluableCount: hidden,
        detail: { hidden },
      });
    }
    const counts = { total, with_risk };
    const missing =
      'no sign-in of the period carries a risk field (riskLevelDuringSignIn, riskState): they were imported from an export without risk columns';
    return signInFieldOutcome(
      context,
      id,
      { counts, carrying: counts.with_risk, missing },
      query.risky,
      (signIns, who) =>
        `${signIns.length} risky successful Metabase sign-in(s) of ${who} (${[...new Set(signIns.map((s) => s.risk_level_during_sign_in ?? s.risk_state))].join(', ')})`,
    );
  },
});
