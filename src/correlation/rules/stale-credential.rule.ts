// stale-credential — at as-of, a secret or certificate of a watched Entra application
// (the Metabase app(s)' application objects and service principals, and the collector's
// own application) whose start is older than the maximum age, that is already expired,
// or that expires within the warning window; or a Metabase API key whose secret was last
// replaced longer ago than the maximum age. One finding per credential.
// Severity, controls and default parameters: the rule's entry in reports/catalogues/rules.json.
// Assumption: the collector stores credentials of watched applications only.
//
// Metabase API key age: regenerating a key (PUT /api/api-key/:id/regenerate) rewrites
// `key`, `key_prefix` and `updated_at` but keeps `created_at`, and publishes
// `:event/api-key-regenerate`, stored in audit_log as topic `api-key-regenerate`, model
// `ApiKey`, model_id = the key's id (metabase/metabase src/metabase/api_keys/api.clj
// @06f5232be2d4, api_keys/models/api_key.clj `regenerate!` @061ea3cf, audit_app/events/
// audit_log.clj @0090775485a6). So the secret dates from the latest of: created_at; the
// newest api-key-regenerate event for the key; the change of key_prefix between two of
// our snapshots (the new prefix's updated_at when it falls between the two observations,
// else the earlier observation: the earliest the change can have happened).
import { sql } from 'kysely';

import { capabilities } from '../../store/streams.js';
import { numberParameter } from '../parameters.js';
import type { RuleContext } from '../types.js';
import { days, findingId, iso } from './common.js';
import { defineRule, evaluated, notEvaluable } from './define-rule.js';

const id = 'stale-credential';

/** An Entra credential as the rule reads it (the report's credential population too). */
export interface EntraCredentialRow {
  source_id: string;
  key_id: string;
  app_id: string | null;
  owner_kind: string | null;
  credential_type: string | null;
  display_name: string | null;
  start_date_time: Date | null;
  end_date_time: Date | null;
}

async function statements(context: RuleContext) {
  const maxAge = numberParameter(context.parameters, 'maxAgeDays');
  const warning = numberParameter(context.parameters, 'warningDays');
  const oldest = new Date(context.asOf.getTime() - maxAge * 86_400_000);
  const warnUntil = new Date(context.asOf.getTime() + warning * 86_400_000);
  const entra = await context.stateAt('entra_credential_version');
  const keys = await context.stateAt('metabase_api_key_version');
  return {
    entra: sql<EntraCredentialRow>`
      select c.source_id, c.key_id, c.app_id, c.owner_kind, c.credential_type, c.display_name, c.start_date_time, c.end_date_time
      from ${entra} c
      where c.present and (c.start_date_time < ${oldest} or c.end_date_time < ${context.asOf} or c.end_date_time <= ${warnUntil})
      order by c.source_id, c.key_id, c.owner_kind`,
    metabase: sql<{
      source_id: string;
      upstream_id: string;
      key_prefix: string | null;
      name: string | null;
      created_at_source: Date | null;
      regenerated_at: Date | null;
      regenerate_event_id: string | null;
      prefix_changed_at: Date | null;
      previous_prefix: string | null;
      secret_since: Date | null;
    }>`
      with keyed as (
        select k.source_id, k.upstream_id, k.key_prefix, k.name, k.created_at_source, r.regenerated_at, r.regenerate_event_id,
               case when p.previous_seen is null then null
                    when p.updated_at > p.previous_seen and p.updated_at <= p.first_seen then p.updated_at
                    else p.previous_seen end as prefix_changed_at,
               p.previous_prefix
        from ${keys} k
        left join lateral (
          select e.occurred_at as regenerated_at, e.upstream_id as regenerate_event_id
          from metabase_audit_event e
          where e.source_id = k.source_id and e.topic = 'api-key-regenerate' and e.model_id::text = k.upstream_id and e.occurred_at <= ${context.asOf}
          order by e.occurred_at desc limit 1
        ) r on true
        left join lateral (
          select cur.observed_at as first_seen, (cur.raw->>'updated_at')::timestamptz as updated_at, prev.observed_at as previous_seen, prev.key_prefix as previous_prefix
          from metabase_api_key_version cur
          left join lateral (
            select v.observed_at, v.key_prefix from metabase_api_key_version v
            where v.source_id = cur.source_id and v.upstream_id = cur.upstream_id and v.observed_at < cur.observed_at and v.present and v.key_prefix is distinct from cur.key_prefix
            order by v.observed_at desc limit 1
          ) prev on true
          where cur.source_id = k.source_id and cur.upstream_id = k.upstream_id and cur.key_prefix = k.key_prefix and cur.observed_at <= k.observed_at
          order by cur.observed_at asc limit 1
        ) p on true
        where k.present
      )
      select keyed.*, greatest(created_at_source, regenerated_at, prefix_changed_at) as secret_since
      from keyed
      order by source_id, upstream_id`,
  };
}

export const staleCredential = defineRule(id, {
  precondition(context) {
    if (context.inventory.entraSourceIds.length === 0 && context.inventory.metabaseSourceIds.length === 0) {
      return notEvaluable('no credentials have been collected');
    }
    return null;
  },
  statements,
  async findings(context, query) {
    const maxAge = numberParameter(context.parameters, 'maxAgeDays');
    const asOf = context.asOf.getTime();
    const oldest = asOf - maxAge * 86_400_000;
    const entra = (await query.entra.execute(context.db)).rows.map((row) => {
      const start = iso(row.start_date_time);
      const end = iso(row.end_date_time);
      const reasons = [
        start && asOf - start.getTime() > maxAge * 86_400_000
          ? `started ${days(asOf - start.getTime())} days before as-of (max ${maxAge})`
          : null,
        end && end.getTime() < asOf
          ? `expired on ${end.toISOString().slice(0, 10)}`
          : end
            ? `expires on ${end.toISOString().slice(0, 10)}`
            : null,
      ].filter((r): r is string => r !== null);
      const kind = row.credential_type === 'password' ? 'secret' : 'certificate';
      return {
        id: findingId(id, row.source_id, row.owner_kind, row.key_id),
        subject: { personId: null, upn: null, metabaseAccountId: null, email: null, credentialId: row.key_id, source: row.source_id },
        summary: `Entra ${kind} ${row.display_name ? `"${row.display_name}" ` : ''}of app ${row.app_id ?? 'unknown'} (${row.owner_kind ?? 'object'}): ${reasons.join('; ')}`,
        firstSeen: start,
        lastSeen: end,
        evidence: [{ source: 'entra-credential', id: row.key_id, at: start }],
        detail: {
          appId: row.app_id,
          ownerKind: row.owner_kind,
          type: row.credential_type,
          start: start?.toISOString() ?? null,
          end: end?.toISOString() ?? null,
        },
      };
    });
    const keyRows = (await query.metabase.execute(context.db)).rows;
    const rotated = keyRows.filter((row) => row.regenerated_at !== null || row.prefix_changed_at !== null);
    const metabase = keyRows
      .filter((row) => row.secret_since !== null && new Date(row.secret_since).getTime() < oldest)
      .map((row) => {
        const created = iso(row.created_at_source);
        const since = iso(row.secret_since)!;
        const regenerated = iso(row.regenerated_at);
        const prefixChanged = iso(row.prefix_changed_at);
        const basis =
          regenerated && regenerated.getTime() === since.getTime()
            ? `regenerated on ${since.toISOString().slice(0, 10)} (api-key-regenerate audit event)`
            : prefixChanged && prefixChanged.getTime() === since.getTime()
              ? `its prefix changed from ${row.previous_prefix ?? '?'} by ${since.toISOString().slice(0, 10)} (snapshots)`
              : `created on ${since.toISOString().slice(0, 10)}, never regenerated as far as collected`;
        return {
          id: findingId(id, row.source_id, 'api-key', row.upstream_id),
          subject: {
            personId: null,
            upn: null,
            metabaseAccountId: null,
            email: null,
            credentialId: row.key_prefix ?? row.upstream_id,
            source: row.source_id,
          },
          summary: `Metabase API key ${row.name ? `"${row.name}" ` : ''}(${row.key_prefix ?? 'no prefix'}): its secret was last replaced ${days(asOf - since.getTime())} days before as-of (max ${maxAge}): ${basis}`,
          firstSeen: since,
          lastSeen: null,
          evidence: [
            { source: 'metabase-api-key', id: row.upstream_id, at: created },
            ...(row.regenerate_event_id ? [{ source: 'metabase-audit-event', id: row.regenerate_event_id, at: regenerated }] : []),
          ],
          detail: {
            name: row.name,
            created: created?.toISOString() ?? null,
            secretSince: since.toISOString(),
            regenerated: regenerated?.toISOString() ?? null,
            prefixChanged: prefixChanged?.toISOString() ?? null,
          },
        };
      });
    // Through the API, scoped (SCIM) keys are not listed (GET /api/api-key selects scope nil):
    // those keys are not evaluable, and the outcome says so instead of passing them.
    const unlisted = context.inventory.metabaseSourceIds.filter(
      (source) => context.inventory.capability(source, capabilities.metabaseColumn('api_key', 'scope'))?.available === false,
    );
    const detail = {
      rotatedKeys: rotated.map((row) => ({
        source: row.source_id,
        id: row.upstream_id,
        regenerated: iso(row.regenerated_at)?.toISOString() ?? null,
        prefixChanged: iso(row.prefix_changed_at)?.toISOString() ?? null,
      })),
      ...(unlisted.length ? { scopedKeysNotListed: unlisted } : {}),
    };
    if (
      context.inventory.entraSourceIds.length === 0 &&
      unlisted.length === context.inventory.metabaseSourceIds.length &&
      metabase.length === 0
    ) {
      return notEvaluable(
        'scoped (SCIM) API keys are not listed by the Metabase API (GET /api/api-key), and no application database was collected',
        { notEvaluableCount: unlisted.length, detail },
      );
    }
    return evaluated([...entra, ...metabase], { notEvaluableCount: unlisted.length, detail });
  },
});
