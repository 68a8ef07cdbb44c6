// An HTTP emulator of the Metabase REST endpoints the collector uses, serving a dataset:
// session properties, users (status/limit/offset), groups, memberships, API keys and,
// on Pro/Enterprise, the monthly query-execution logs. API-key auth via `X-API-Key`
// (a wrong or missing key answers 401 with Metabase's plain "Unauthenticated").
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { type CoreUserRow, type Instant, INTERNAL_USER_ID, type MetabaseDataset } from './dataset.js';

export type MetabaseEdition = 'oss' | 'pro' | 'enterprise';

export interface MetabaseApiEmulatorOptions {
  dataset: MetabaseDataset;
  apiKey: string;
  edition?: MetabaseEdition;
  /** Metabase major version reported by /api/session/properties (default 60). */
  version?: number;
  port?: number;
}

export interface MetabaseApiEmulator {
  readonly url: string;
  /** Requests received, for tests (method and path with query). */
  readonly requests: string[];
  close(): Promise<void>;
}

const iso = (value: Instant | null | undefined): string | null =>
  value === null || value === undefined ? null : new Date(value).toISOString();

function send(response: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
  response.end(text);
}

function parseJsonOrNull(text: string | null | undefined): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export async function startMetabaseApiEmulator(options: MetabaseApiEmulatorOptions): Promise<MetabaseApiEmulator> {
  const { dataset, apiKey } = options;
  const edition = options.edition ?? 'enterprise';
  const version = options.version ?? 60;
  const requests: string[] = [];
  const keyUser = dataset.core_user.find((u) => u.id === dataset.api_key[0]?.user_id);

  const groupIds = (userId: number) => dataset.permissions_group_membership.filter((m) => m.user_id === userId).map((m) => m.group_id);
  const userJson = (user: CoreUserRow) => ({
    id: user.id,
    email: user.email,
    first_name: user.first_name ?? null,
    last_name: user.last_name ?? null,
    common_name: [user.first_name, user.last_name].filter(Boolean).join(' ') || null,
    date_joined: iso(user.date_joined),
    last_login: iso(user.last_login),
    is_superuser: user.is_superuser ?? false,
    is_qbnewb: true,
    tenant_id: user.tenant_id ?? null,
    sso_source: user.sso_source ?? null,
    is_active: user.is_active ?? true,
    updated_at: iso(user.updated_at),
    login_attributes: parseJsonOrNull(user.login_attributes),
    locale: user.locale ?? null,
    personal_collection_id: user.id + 100,
    group_ids: groupIds(user.id),
  });

  function handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://localhost');
    requests.push(`${request.method} ${url.pathname}${url.search}`);
    if (request.method !== 'GET') return send(response, 405, 'Method not allowed');
    if (url.pathname === '/api/session/properties') {
      return send(response, 200, {
        version: { tag: `v${edition === 'oss' ? 0 : 1}.${version}.1`, date: '2026-04-01', hash: 'emulator' },
        'token-features': { audit_app: edition !== 'oss', sso_saml: edition !== 'oss' },
      });
    }
    if (request.headers['x-api-key'] !== apiKey) return send(response, 401, 'Unauthenticated');

    if (url.pathname === '/api/user/current') {
      return send(response, 200, keyUser ? userJson(keyUser) : { id: 0 });
    }
    if (url.pathname === '/api/user') {
      const status = url.searchParams.get('status') ?? 'active';
      // The user list holds people only (filter-clauses always adds type = 'personal',
      // metabase/metabase src/metabase/users/models/user.clj): no internal user, no API-key service users.
      let users = dataset.core_user.filter((u) => u.id !== INTERNAL_USER_ID && (u.type ?? 'personal') === 'personal');
      if (status === 'active') users = users.filter((u) => u.is_active ?? true);
      if (status === 'deactivated') users = users.filter((u) => !(u.is_active ?? true));
      users = [...users].sort(
        (a, b) =>
          (a.first_name ?? '').localeCompare(b.first_name ?? '') || (a.last_name ?? '').localeCompare(b.last_name ?? '') || a.id - b.id,
      );
      const limit = url.searchParams.has('limit') ? Number(url.searchParams.get('limit')) : undefined;
      const offset = url.searchParams.has('offset') ? Number(url.searchParams.get('offset')) : undefined;
      const page = limit === undefined ? users : users.slice(offset ?? 0, (offset ?? 0) + limit);
      return send(response, 200, { data: page.map(userJson), total: users.length, limit: limit ?? null, offset: offset ?? null });
    }
    if (url.pathname === '/api/permissions/group') {
      return send(
        response,
        200,
        dataset.permissions_group.map((g) => ({
          id: g.id,
          name: g.name,
          entity_id: g.entity_id ?? null,
          magic_group_type: g.magic_group_type ?? null,
          member_count: dataset.permissions_group_membership.filter((m) => m.group_id === g.id).length,
        })),
      );
    }
    if (url.pathname === '/api/permissions/membership') {
      const byUser: Record<string, unknown[]> = {};
      for (const m of dataset.permissions_group_membership) {
        (byUser[String(m.user_id)] ??= []).push({
          membership_id: m.id,
          group_id: m.group_id,
          user_id: m.user_id,
          is_group_manager: m.is_group_manager ?? false,
        });
      }
      return send(response, 200, byUser);
    }
    if (url.pathname === '/api/api-key') {
      // As metabase/metabase src/metabase/api_keys/api.clj (@06f5232be2d4) answers: only keys
      // with scope NULL (scoped SCIM keys are left out), and only created_at, updated_at,
      // updated_by {id, common_name}, id, group {id, name}, name and masked_key (the prefix
      // followed by asterisks): no user_id, creator_id, key_prefix or scope.
      return send(
        response,
        200,
        dataset.api_key
          .filter((k) => (k.scope ?? null) === null)
          .map((k) => {
            const group =
              dataset.permissions_group_membership
                .filter((m) => m.user_id === k.user_id && m.group_id !== 1)
                .map((m) => dataset.permissions_group.find((g) => g.id === m.group_id))[0] ??
              dataset.permissions_group.find((g) => g.id === 1);
            return {
              id: k.id,
              name: k.name,
              group: group ? { id: group.id, name: group.name } : null,
              masked_key: `${k.key_prefix}${'*'.repeat(39)}`,
              created_at: iso(k.created_at),
              updated_at: iso(k.updated_at),
              updated_by: { id: k.updated_by_id, common_name: 'Admin' },
            };
          }),
      );
    }
    const logs = /^\/api\/ee\/logs\/query_execution\/(\d{4})-(\d{2})$/.exec(url.pathname);
    if (logs) {
      if (edition === 'oss') return send(response, 404, 'API endpoint does not exist.');
      const year = Number(logs[1]);
      const month = Number(logs[2]);
      const rows = dataset.query_execution
        .filter((q) => {
          const at = new Date(q.started_at);
          return at.getUTCFullYear() === year && at.getUTCMonth() + 1 === month;
        })
        .sort((a, b) => new Date(b.started_at).getTime() - new Date(a.started_at).getTime())
        .map((q) => ({
          ...q,
          hash: typeof q.hash === 'string' ? q.hash : Buffer.from(q.hash).toString('hex'),
          started_at: iso(q.started_at),
        }));
      return send(response, 200, rows);
    }
    return send(response, 404, 'API endpoint does not exist.');
  }

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
