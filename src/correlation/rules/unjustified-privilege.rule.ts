// unjustified-privilege — at as-of, an active human Metabase account is privileged
// (is_superuser, or member of the Administrators group) while its linked person is not a
// transitive member of any configured Entra admin group; an unlinked privileged account
// is always unjustified. Not evaluable when no admin group is configured.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// Assumptions: the Administrators group is magic_group_type = 'admin', or (older
// versions without that column) the group named Administrators; Entra memberships are
// the transitive members of the admin groups collected at as-of.
import { sql } from 'kysely';

import { listParameter } from '../parameters.js';
import type { RuleContext } from '../types.js';
import { accountFinding, activeHumanAccounts, findingPerRow, linkedPerson, needsMetabaseAccounts } from './common.js';
import { defineRule, notEvaluable } from './define-rule.js';

const id = 'unjustified-privilege';

/** A privileged account and why (the report's privileged population reads the same columns). */
export interface PrivilegedAccountRow {
  source_id: string;
  account_id: number;
  email: string | null;
  person_id: string | null;
  link_status: string | null;
  via_superuser: boolean;
  via_admin_group: boolean;
}

export async function privilegedAccountsSql(context: RuleContext) {
  const memberships = await context.stateAt('metabase_membership_version');
  const groups = await context.stateAt('metabase_group_version');
  return sql`(
    select a.*, a.is_superuser as via_superuser,
           exists (
             select 1 from ${memberships} m join ${groups} g on g.source_id = m.source_id and g.upstream_id = m.group_id::text and g.present
             where m.present and m.source_id = a.source_id and m.user_id = a.account_id
               and (g.magic_group_type = 'admin' or (g.magic_group_type is null and g.name = 'Administrators'))
           ) as via_admin_group
    from ${await activeHumanAccounts(context)} a
  )`;
}

async function statements(context: RuleContext) {
  const adminGroups = listParameter<string>(context.parameters, 'adminGroupIds');
  const entraMembers = await context.stateAt('entra_group_member_version');
  return {
    unjustified: sql<PrivilegedAccountRow>`
      select p.source_id, p.account_id, p.email, p.person_id, p.link_status, coalesce(p.via_superuser, false) as via_superuser, p.via_admin_group
      from ${await privilegedAccountsSql(context)} p
      where (p.via_superuser or p.via_admin_group)
        and (p.link_status is distinct from 'linked' or not exists (
          select 1 from ${entraMembers} e
          where e.present and e.member_id = p.person_id and e.group_id = any(${adminGroups}::text[])
        ))
      order by p.source_id, p.account_id`,
  };
}

export const unjustifiedPrivilege = defineRule(id, {
  precondition(context) {
    const noAccounts = needsMetabaseAccounts(context);
    if (noAccounts) return noAccounts;
    if (listParameter<string>(context.parameters, 'adminGroupIds').length === 0) {
      return notEvaluable('no Entra admin group is configured (ENTRA_ADMIN_GROUP_IDS); the privileged population is still listed');
    }
    return null;
  },
  statements,
  findings: (context, query) =>
    findingPerRow(context, query.unjustified, (row) => {
      const person = linkedPerson(context, row.person_id);
      const via = [row.via_superuser ? 'superuser' : null, row.via_admin_group ? 'Administrators group' : null]
        .filter(Boolean)
        .join(' and ');
      return accountFinding(id, row, person, {
        summary:
          row.link_status === 'linked'
            ? `Metabase account ${row.email ?? row.account_id} is an administrator (${via}) but ${person.upn ?? row.person_id} is in no Entra admin group`
            : `Metabase account ${row.email ?? row.account_id} is an administrator (${via}) and is linked to no Entra person`,
        firstSeen: null,
        lastSeen: context.asOf,
        evidenceAt: context.asOf,
        detail: { viaSuperuser: row.via_superuser, viaAdminGroup: row.via_admin_group, linked: row.link_status === 'linked' },
      });
    }),
});
