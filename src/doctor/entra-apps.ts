// The Metabase app(s) in Entra and the admin groups: each ENTRA_METABASE_APP_IDS is an
// application of this tenant, people signed in to it in the last 30 days, and its
// redirect URIs point at the Metabase address; each ENTRA_ADMIN_GROUP_IDS exists.
//
// A stale redirect URI (Metabase moved, the old host is still registered) and a tenant
// mismatch (the app or Metabase's SSO settings belong to another tenant) are the usual
// causes of broken SSO. Metabase's SSO callback paths:
// - SAML: the identity provider posts to `{site-url}/auth/sso` (metabase/metabase
//   enterprise/backend/src/metabase_enterprise/sso/api/routes.clj serves /auth/sso;
//   docs/people-and-groups/saml-azure.md has the Reply URL copied from Metabase's SAML
//   settings page);
// - OIDC: `{site-url}/auth/sso/{key}/callback`, {key} being the provider key
//   (metabase/metabase docs/people-and-groups/authenticating-with-oidc.md).
import { type Check, fail, pass, skip, warn } from './check.js';
import { failureText, type GraphProbe, type Json, odataInstant, odataString, query } from './graph-probe.js';

const DAY_MS = 86_400_000;
export const SIGN_IN_LOOKBACK_DAYS = 30;

/** Scheme + host + port + path prefix of a Metabase address, lower-cased host, no trailing slash. */
export function normaliseBase(address: string): string | null {
  try {
    const url = new URL(address);
    const path = url.pathname.replace(/\/+$/, '');
    return `${url.protocol}//${url.host.toLowerCase()}${path}`;
  } catch {
    return null;
  }
}

/** True when `uri` is one of Metabase's SSO callbacks under `base`. */
export function isMetabaseCallback(uri: string, base: string): boolean {
  const normalised = normaliseBase(uri);
  if (!normalised || !normalised.startsWith(base)) return false;
  const rest = normalised.slice(base.length);
  return rest === '/auth/sso' || /^\/auth\/sso\/[a-z0-9-]+\/callback$/.test(rest);
}

/** The app's registered redirect URIs: web and spa of the application object, and the
 *  service principal's replyUrls (the same list for SAML enterprise apps). */
export function redirectUrisOf(application: Json | undefined, servicePrincipal: Json | undefined): string[] {
  const uris: string[] = [];
  const add = (list: unknown) => {
    if (Array.isArray(list)) for (const item of list) if (typeof item === 'string') uris.push(item);
  };
  for (const part of ['web', 'spa']) add((application?.[part] as Json | undefined)?.['redirectUris']);
  add(servicePrincipal?.['replyUrls']);
  return [...new Set(uris)];
}

/** Pure: does any redirect URI point at the Metabase address? */
export function redirectCheck(appId: string, uris: readonly string[], metabase: { address: string | null; source: string }): Check {
  const name = `Metabase app ${appId}: redirect URIs point at Metabase`;
  const base = metabase.address ? normaliseBase(metabase.address) : null;
  if (!base) {
    return warn(
      'entra',
      name,
      `not evaluable: the Metabase address is unknown (${metabase.source})`,
      'set METABASE_URL to the address people open Metabase at',
    );
  }
  const matching = uris.filter((u) => isMetabaseCallback(u, base));
  if (matching.length > 0) {
    const others = uris.filter((u) => !matching.includes(u));
    return pass(
      'entra',
      name,
      `${matching.join(', ')} matches ${base} (from ${metabase.source})${others.length ? `; also registered: ${others.join(', ')}` : ''}`,
    );
  }
  return fail(
    'entra',
    name,
    uris.length === 0
      ? `the app has no redirect URIs; Metabase is at ${base} (from ${metabase.source})`
      : `none of ${uris.join(', ')} is a Metabase SSO callback at ${base} (from ${metabase.source}): stale redirect URI`,
    `add ${base}/auth/sso (SAML Reply URL) or ${base}/auth/sso/<key>/callback (OIDC) to the app's redirect URIs and remove the stale ones`,
  );
}

/** Pure: sign-ins to the app in the lookback window. */
export function recentSignInCheck(
  appId: string,
  outcome: { ok: true; value: Json[] } | { ok: false; error: Error },
  licenceBlocked: boolean,
): Check {
  const name = `Metabase app ${appId}: sign-ins in the last ${SIGN_IN_LOOKBACK_DAYS} days`;
  if (!outcome.ok)
    return skip(
      'entra',
      name,
      licenceBlocked ? 'not evaluable: sign-in logs need the licence (see above)' : `not evaluable: ${outcome.error.message}`,
    );
  const latest = outcome.value[0];
  if (!latest) {
    return fail(
      'entra',
      name,
      'nobody signed in to Metabase through this app in that time',
      "check that Metabase's SAML/OIDC settings use this app and tenant (a stale redirect URI or another tenant's issuer breaks SSO), or correct ENTRA_METABASE_APP_IDS",
    );
  }
  return pass('entra', name, `latest sign-in ${String(latest['createdDateTime'] ?? 'at an unknown time')}`);
}

export interface AppFacts {
  checks: Check[];
}

export async function checkMetabaseApps(
  graph: GraphProbe,
  options: {
    appIds: readonly string[];
    tenantId: string;
    now: Date;
    metabase: { address: string | null; source: string };
    licenceBlocked: boolean;
  },
): Promise<Check[]> {
  const checks: Check[] = [];
  if (options.appIds.length === 0) {
    checks.push(
      fail(
        'entra',
        'Metabase app',
        'ENTRA_METABASE_APP_IDS is not set',
        'set ENTRA_METABASE_APP_IDS to the Application (client) ID of the Entra app Metabase signs people in with',
      ),
    );
    return checks;
  }
  for (const appId of options.appIds) {
    const filter = `appId eq ${odataString(appId)}`;
    const sp = await graph.get(
      query('v1.0/servicePrincipals', { $filter: filter, $select: 'id,appId,displayName,replyUrls,appOwnerOrganizationId' }),
    );
    const app = await graph.get(query('v1.0/applications', { $filter: filter, $select: 'id,appId,displayName,web,spa' }));
    const name = `Metabase app ${appId}: application of this tenant`;
    if (!sp.ok || !app.ok) {
      const error = !sp.ok ? sp.error : !app.ok ? app.error : undefined;
      checks.push(
        fail(
          'entra',
          name,
          `could not look the app up: ${error ? failureText(error) : 'unknown error'}`,
          'grant the collector app Application.Read.All with admin consent',
        ),
      );
      continue;
    }
    const servicePrincipal = sp.value[0];
    const application = app.value[0];
    if (!servicePrincipal && !application) {
      checks.push(
        fail(
          'entra',
          name,
          `tenant ${options.tenantId} has no application or service principal with appId ${appId}`,
          'copy the Application (client) ID of the Metabase enterprise app into ENTRA_METABASE_APP_IDS, or set AZURE_TENANT_ID to the tenant Metabase signs people in with (tenant mismatch)',
        ),
      );
      continue;
    }
    const displayName = String(servicePrincipal?.['displayName'] ?? application?.['displayName'] ?? appId);
    const owner = servicePrincipal?.['appOwnerOrganizationId'];
    if (!servicePrincipal) {
      checks.push(
        fail(
          'entra',
          name,
          `"${displayName}" is registered but has no service principal (enterprise app) here, so nobody can sign in with it`,
          'create the enterprise application for it (Enterprise applications → New application) or use the appId of the one Metabase uses',
        ),
      );
    } else if (!application && typeof owner === 'string' && owner.toLowerCase() !== options.tenantId.toLowerCase()) {
      checks.push(
        pass('entra', name, `"${displayName}" has a service principal here; the app is registered in tenant ${owner} (multi-tenant)`),
      );
    } else {
      checks.push(pass('entra', name, `"${displayName}" (service principal ${String(servicePrincipal['id'])})`));
    }
    if (servicePrincipal) {
      const assigned = await graph.get(
        `v1.0/servicePrincipals/${encodeURIComponent(String(servicePrincipal['id']))}/appRoleAssignedTo?$top=1`,
      );
      if (!assigned.ok) {
        checks.push(
          fail(
            'entra',
            `Metabase app ${appId}: assignments readable`,
            `GET appRoleAssignedTo failed: ${failureText(assigned.error)}`,
            'grant the collector app Application.Read.All with admin consent',
          ),
        );
      } else {
        checks.push(
          pass(
            'entra',
            `Metabase app ${appId}: assignments readable`,
            assigned.value.length
              ? 'users or groups are assigned'
              : 'readable; nobody is assigned (every user of the tenant may sign in unless assignment is required)',
          ),
        );
      }
    }
    const since = new Date(options.now.getTime() - SIGN_IN_LOOKBACK_DAYS * DAY_MS);
    const recent = options.licenceBlocked
      ? { ok: false as const, error: new Error('licence') }
      : await graph.get(
          query('v1.0/auditLogs/signIns', {
            $filter: `appId eq ${odataString(appId)} and createdDateTime ge ${odataInstant(since)}`,
            $top: '1',
          }),
        );
    checks.push(recentSignInCheck(appId, recent, options.licenceBlocked));
    checks.push(redirectCheck(appId, redirectUrisOf(application, servicePrincipal), options.metabase));
  }
  return checks;
}

export async function checkAdminGroups(graph: GraphProbe, groupIds: readonly string[], tenantId: string): Promise<Check[]> {
  if (groupIds.length === 0)
    return [
      skip(
        'entra',
        'admin groups',
        'ENTRA_ADMIN_GROUP_IDS is not set: unjustified-privilege compares Metabase admins against no Entra group',
      ),
    ];
  const checks: Check[] = [];
  for (const groupId of groupIds) {
    const name = `admin group ${groupId}`;
    const found = await graph.get(query('v1.0/groups', { $filter: `id eq ${odataString(groupId)}`, $select: 'id,displayName' }));
    if (!found.ok) {
      checks.push(
        fail(
          'entra',
          name,
          `could not look the group up: ${failureText(found.error)}`,
          'grant the collector app Group.Read.All with admin consent',
        ),
      );
      continue;
    }
    const group = found.value[0];
    if (!group) {
      checks.push(
        fail(
          'entra',
          name,
          `tenant ${tenantId} has no group with this id`,
          'set ENTRA_ADMIN_GROUP_IDS to the Object ID of the group(s) whose members may be Metabase admins',
        ),
      );
      continue;
    }
    const members = await graph.get(`v1.0/groups/${encodeURIComponent(groupId)}/transitiveMembers?$top=1&$select=id`);
    if (!members.ok) {
      checks.push(
        fail(
          'entra',
          name,
          `"${String(group['displayName'] ?? groupId)}" exists, but its members cannot be read: ${failureText(members.error)}`,
          'grant the collector app GroupMember.Read.All with admin consent',
        ),
      );
      continue;
    }
    checks.push(
      pass('entra', name, `"${String(group['displayName'] ?? groupId)}" exists${members.value.length ? '' : ' and has no members'}`),
    );
  }
  return checks;
}
