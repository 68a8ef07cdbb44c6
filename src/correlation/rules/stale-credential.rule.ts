// stale-credential — at as-of, a secret or certificate of a watched Entra application
// (the Metabase app(s)' application objects and service principals, and the collector's
// own application) whose start is older than the maximum age, that is already expired,
// or that expires within the warning window; or a Metabase API key created longer ago
// than the maximum age. One finding per credential.
// Controls: A.5.17, CC6.1. Severity medium.
// Assumption: the collector stores credentials of watched applications only.
import { sql } from 'kysely';
import { numberParameter } from '../parameters.js';
import type { Rule, RuleContext, RuleOutcome } from '../types.js';
import { compileStatements, days, findingId, iso } from './common.js';

const id = 'stale-credential';

async function statements(context: RuleContext) {
  const maxAge = numberParameter(context.parameters, 'maxAgeDays', 90);
  const warning = numberParameter(context.parameters, 'warningDays', 30);
  const oldest = new Date(context.asOf.getTime() - maxAge * 86_400_000);
  const warnUntil = new Date(context.asOf.getTime() + warning * 86_400_000);
  const entra = await context.stateAt('entra_credential_version');
  const keys = await context.stateAt('metabase_api_key_version');
  return {
    entra: sql<{ source_id: string; key_id: string; app_id: string | null; owner_kind: string | null; credential_type: string | null; display_name: string | null; start_date_time: Date | null; end_date_time: Date | null }>`
      select c.source_id, c.key_id, c.app_id, c.owner_kind, c.credential_type, c.display_name, c.start_date_time, c.end_date_time
      from ${entra} c
      where c.present and (c.start_date_time < ${oldest} or c.end_date_time < ${context.asOf} or c.end_date_time <= ${warnUntil})
      order by c.source_id, c.key_id, c.owner_kind`,
    metabase: sql<{ source_id: string; upstream_id: string; key_prefix: string | null; name: string | null; created_at_source: Date | null }>`
      select k.source_id, k.upstream_id, k.key_prefix, k.name, k.created_at_source
      from ${keys} k
      where k.present and k.created_at_source < ${oldest}
      order by k.source_id, k.upstream_id`,
  };
}

export const staleCredential: Rule = {
  id,
  severity: 'medium',
  async statements(context) {
    return compileStatements(context, await statements(context));
  },
  async evaluate(context): Promise<RuleOutcome> {
    if (context.inventory.entraSourceIds.length === 0 && context.inventory.metabaseSourceIds.length === 0) {
      return { status: 'not-evaluable', reason: 'no credentials have been collected', findings: [], notEvaluableCount: 0, detail: {} };
    }
    const maxAge = numberParameter(context.parameters, 'maxAgeDays', 90);
    const query = await statements(context);
    const asOf = context.asOf.getTime();
    const entra = (await query.entra.execute(context.db)).rows.map((row) => {
      const start = iso(row.start_date_time);
      const end = iso(row.end_date_time);
      const reasons = [
        start && asOf - start.getTime() > maxAge * 86_400_000 ? `started ${days(asOf - start.getTime())} days before as-of (max ${maxAge})` : null,
        end && end.getTime() < asOf ? `expired on ${end.toISOString().slice(0, 10)}` : end ? `expires on ${end.toISOString().slice(0, 10)}` : null,
      ].filter((r): r is string => r !== null);
      const kind = row.credential_type === 'password' ? 'secret' : 'certificate';
      return {
        id: findingId(id, row.source_id, row.owner_kind, row.key_id),
        rule: id,
        severity: 'medium' as const,
        subject: { personId: null, upn: null, metabaseAccountId: null, email: null, credentialId: row.key_id, source: row.source_id },
        summary: `Entra ${kind} ${row.display_name ? `"${row.display_name}" ` : ''}of app ${row.app_id ?? 'unknown'} (${row.owner_kind ?? 'object'}): ${reasons.join('; ')}`,
        firstSeen: start,
        lastSeen: end,
        evidence: [{ source: 'entra-credential', id: row.key_id, at: start }],
        detail: { appId: row.app_id, ownerKind: row.owner_kind, type: row.credential_type, start: start?.toISOString() ?? null, end: end?.toISOString() ?? null },
      };
    });
    const metabase = (await query.metabase.execute(context.db)).rows.map((row) => {
      const created = iso(row.created_at_source);
      return {
        id: findingId(id, row.source_id, 'api-key', row.upstream_id),
        rule: id,
        severity: 'medium' as const,
        subject: { personId: null, upn: null, metabaseAccountId: null, email: null, credentialId: row.key_prefix ?? row.upstream_id, source: row.source_id },
        summary: `Metabase API key ${row.name ? `"${row.name}" ` : ''}(${row.key_prefix ?? 'no prefix'}) was created ${created ? days(asOf - created.getTime()) : '?'} days before as-of (max ${maxAge})`,
        firstSeen: created,
        lastSeen: null,
        evidence: [{ source: 'metabase-api-key', id: row.upstream_id, at: created }],
        detail: { name: row.name, created: created?.toISOString() ?? null },
      };
    });
    return { status: 'evaluated', reason: null, findings: [...entra, ...metabase], notEvaluableCount: 0, detail: {} };
  },
};
