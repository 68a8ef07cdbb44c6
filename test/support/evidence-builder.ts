// Builds small evidence stores for rule tests, through the real repositories (so the
// rows are exactly what collectors would have written).
import type { Kysely } from 'kysely';

import { correlate, type CorrelationResult } from '../../src/correlation/correlate.js';
import { resolveRuleParameters } from '../../src/correlation/parameters.js';
import type { Rule } from '../../src/correlation/types.js';
import { createCollectionRepository } from '../../src/store/collection.repository.js';
import { createEvidenceRepository } from '../../src/store/evidence.repository.js';
import type { Database } from '../../src/store/schema.js';
import { capabilities, streams } from '../../src/store/streams.js';

export const APP_ID = '11111111-1111-1111-1111-111111111111';
export const ENTRA = 'entra:contoso';
export const METABASE = 'metabase:bi';
export const at = (iso: string) => new Date(iso);

let counter = 0;
const nextId = (prefix: string) => `${prefix}-${++counter}`;

export interface UserSpec {
  id: string;
  upn: string;
  mail?: string;
  otherMails?: string[];
  enabled?: boolean;
  leave?: string;
  deleted?: string;
  userType?: string;
}

export interface AccountSpec {
  id: number;
  email: string;
  active?: boolean;
  superuser?: boolean;
  type?: string;
  joined?: string;
  lastLogin?: string;
  deactivatedAt?: string;
  ssoSource?: string | null;
}

export function evidenceBuilder(db: Kysely<Database>) {
  const evidence = createEvidenceRepository(db);
  const collection = createCollectionRepository(db);
  const ready = (async () => {
    await collection.upsertSource({ id: ENTRA, kind: 'entra', displayName: 'Contoso' });
    await collection.upsertSource({ id: METABASE, kind: 'metabase', displayName: 'BI' });
  })();

  async function snapshot(
    table: Parameters<typeof evidence.beginSnapshot>[0],
    source: string,
    observedAt: string,
    records: Parameters<Awaited<ReturnType<typeof evidence.beginSnapshot>>['write']>[0],
  ) {
    await ready;
    const writer = await evidence.beginSnapshot(table, source, at(observedAt));
    await writer.write(records);
    await writer.finish({ complete: true });
  }

  return {
    async coverage(stream: string, from: string, to: string, source = stream.startsWith('entra') ? ENTRA : METABASE) {
      await ready;
      await collection.addCoverage(source, stream, { from: at(from), to: at(to) }, null);
    },
    /** Full coverage of every stream over [from, to]. */
    async coverAll(from: string, to: string) {
      for (const stream of Object.values(streams)) await this.coverage(stream, from, to);
    },
    async capability(source: string, name: string, available: boolean, reason: string | null = null) {
      await ready;
      await collection.setCapability(source, name, available, reason, null);
    },
    async retention(stream: string, oldest: string) {
      await ready;
      await collection.recordRetention(METABASE, stream, at(oldest), null);
    },
    async users(observedAt: string, users: UserSpec[]) {
      await snapshot(
        'entra_user_version',
        ENTRA,
        observedAt,
        users.map((u) => ({
          upstream_id: u.id,
          raw: { id: u.id, userPrincipalName: u.upn },
          user_principal_name: u.upn,
          mail: u.mail ?? null,
          other_mails: u.otherMails ?? [],
          proxy_addresses: [],
          account_enabled: u.enabled ?? true,
          user_type: u.userType ?? 'Member',
          deleted_date_time: u.deleted ?? null,
          employee_leave_date_time: u.leave ?? null,
        })),
      );
    },
    async accounts(observedAt: string, accounts: AccountSpec[]) {
      await snapshot(
        'metabase_account_version',
        METABASE,
        observedAt,
        accounts.map((a) => {
          const nonHuman = a.type === 'api-key' || a.type === 'internal' || a.email.endsWith('@api-key.invalid');
          return {
            upstream_id: String(a.id),
            raw: { id: a.id, email: a.email },
            email: a.email.toLowerCase(),
            account_type: a.type ?? 'personal',
            is_human: !nonHuman,
            is_active: a.active ?? true,
            is_superuser: a.superuser ?? false,
            sso_source: a.ssoSource === undefined ? 'saml' : a.ssoSource,
            date_joined: a.joined ?? '2026-01-01T00:00:00Z',
            last_login: a.lastLogin ?? null,
            deactivated_at: a.deactivatedAt ?? null,
          };
        }),
      );
    },
    async metabaseGroups(
      observedAt: string,
      groups: { id: number; name: string; magic?: string | null }[],
      memberships: { userId: number; groupId: number }[],
    ) {
      await snapshot(
        'metabase_group_version',
        METABASE,
        observedAt,
        groups.map((g) => ({ upstream_id: String(g.id), raw: g, name: g.name, magic_group_type: g.magic ?? null })),
      );
      await snapshot(
        'metabase_membership_version',
        METABASE,
        observedAt,
        memberships.map((m) => ({
          upstream_id: `${m.userId}:${m.groupId}`,
          raw: m,
          user_id: m.userId,
          group_id: m.groupId,
          is_group_manager: false,
        })),
      );
    },
    async entraGroupMembers(observedAt: string, members: { groupId: string; memberId: string; transitive?: boolean }[]) {
      await snapshot(
        'entra_group_member_version',
        ENTRA,
        observedAt,
        members.map((m) => ({
          upstream_id: `${m.groupId}:${m.memberId}`,
          raw: m,
          group_id: m.groupId,
          member_id: m.memberId,
          member_type: 'user',
          transitive: m.transitive ?? true,
        })),
      );
    },
    async credentials(observedAt: string, credentials: { keyId: string; start: string; end: string; type?: string }[]) {
      await snapshot(
        'entra_credential_version',
        ENTRA,
        observedAt,
        credentials.map((c) => ({
          upstream_id: `app-object:${c.keyId}`,
          raw: { keyId: c.keyId },
          owner_id: 'app-object',
          owner_kind: 'application',
          app_id: APP_ID,
          key_id: c.keyId,
          credential_type: c.type ?? 'password',
          display_name: 'secret',
          start_date_time: c.start,
          end_date_time: c.end,
        })),
      );
    },
    async apiKeys(observedAt: string, keys: { id: number; prefix: string; created: string }[]) {
      await snapshot(
        'metabase_api_key_version',
        METABASE,
        observedAt,
        keys.map((k) => ({
          upstream_id: String(k.id),
          raw: k,
          key_prefix: k.prefix,
          name: `key ${k.id}`,
          user_id: null,
          creator_id: 1,
          created_at_source: k.created,
          scope: null,
        })),
      );
    },
    async audits(records: { activity: string; at: string; target: string; modified?: object[]; result?: string; id?: string }[]) {
      await ready;
      await evidence.writeEvents(
        'entra_directory_audit',
        ENTRA,
        records.map((r) => {
          const id = r.id ?? nextId('audit');
          return {
            upstream_id: id,
            occurred_at: at(r.at),
            raw: {
              id,
              activityDateTime: r.at,
              activityDisplayName: r.activity,
              result: r.result ?? 'success',
              targetResources: [{ id: r.target, type: 'User', modifiedProperties: r.modified ?? [] }],
            },
            activity: r.activity,
            result: r.result ?? 'success',
            target_ids: [r.target],
          };
        }),
      );
    },
    async signIns(
      records: {
        user: string;
        at: string;
        upn?: string;
        errorCode?: number;
        ip?: string;
        requirement?: string | null;
        risk?: string;
        riskState?: string;
        app?: string;
        id?: string;
      }[],
    ) {
      await ready;
      const rows = records.map((r) => {
        const id = r.id ?? nextId('signin');
        return {
          upstream_id: id,
          occurred_at: at(r.at),
          raw: { id, createdDateTime: r.at, userId: r.user },
          user_id: r.user,
          user_principal_name: r.upn ?? null,
          app_id: r.app ?? APP_ID,
          ip_address: r.ip ?? '203.0.113.1',
          error_code: r.errorCode ?? 0,
          is_interactive: true,
          event_types: ['interactiveUser'],
          authentication_requirement: r.requirement === undefined ? 'multiFactorAuthentication' : r.requirement,
          risk_level_during_sign_in: r.risk ?? 'none',
          risk_state: r.riskState ?? 'none',
          graph_version: 'beta',
        };
      });
      await evidence.writeEvents('entra_sign_in', ENTRA, rows);
      return rows.map((r) => r.upstream_id);
    },
    async logins(records: { account: number; at: string; ip?: string; session?: string; id?: string }[]) {
      await ready;
      const rows = records.map((r) => {
        const id = r.id ?? nextId('login');
        return {
          upstream_id: id,
          occurred_at: at(r.at),
          raw: { id, user_id: r.account, timestamp: r.at },
          user_id: r.account,
          session_key: r.session ?? null,
          device_id: 'd',
          ip_address: r.ip ?? '203.0.113.1',
        };
      });
      await evidence.writeEvents('metabase_login', METABASE, rows);
      return rows.map((r) => r.upstream_id);
    },
    /** A session that used the `password` auth identity (v58+), keyed as the collector keys it. */
    async passwordSession(sessionKey: string, account: number, createdAt: string) {
      await ready;
      const authIdentityId = 9000 + ++counter;
      await evidence.writeEvents('metabase_auth_identity', METABASE, [
        {
          upstream_id: String(authIdentityId),
          occurred_at: at(createdAt),
          raw: { id: authIdentityId, provider: 'password' },
          user_id: account,
          provider: 'password',
          provider_id: null,
        },
      ]);
      await evidence.writeEvents('metabase_session', METABASE, [
        {
          upstream_id: sessionKey,
          occurred_at: at(createdAt),
          raw: { user_id: account },
          user_id: account,
          auth_identity_id: authIdentityId,
        },
      ]);
    },
    async queries(records: { account: number | null; at: string; id?: string }[]) {
      await ready;
      await evidence.writeEvents(
        'metabase_query_execution',
        METABASE,
        records.map((r) => {
          const id = r.id ?? nextId('q');
          return {
            upstream_id: id,
            occurred_at: at(r.at),
            raw: { id, executor_id: r.account },
            executor_id: r.account,
            context: 'question',
          };
        }),
      );
    },
  };
}

export async function runRules(
  db: Kysely<Database>,
  options: {
    from: string;
    to: string;
    asOf?: string;
    rules: readonly Rule[];
    overrides?: Record<string, string>;
    adminGroupIds?: string[];
  },
): Promise<CorrelationResult> {
  const adminGroupIds = options.adminGroupIds ?? [];
  return correlate(db, {
    period: { from: at(options.from), to: at(options.to) },
    asOf: at(options.asOf ?? options.to),
    parameters: resolveRuleParameters(options.overrides ?? {}, { adminGroupIds }),
    metabaseAppIds: [APP_ID],
    adminGroupIds,
    rules: options.rules,
  });
}

export { capabilities, streams };
