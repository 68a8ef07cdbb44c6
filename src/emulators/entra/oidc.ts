// The Entra emulator's sign-in side: OpenID Connect for the accesstrail console and
// Entra-issued access tokens for APIs. What it serves, as Entra does (v2.0 endpoints):
// - the discovery document with the JWKS address and PKCE support,
// - the authorization endpoint, which shows a sign-in page listing the dataset's people
//   (the emulator has no passwords: choosing a person is signing in as them),
// - the token endpoint's authorization_code grant (PKCE S256 checked, code single use),
//   returning an ID token with the person's app roles (or groups, with Entra's overage
//   pointer when there are too many) and a signed access token,
// - client_credentials for a registered API (scope `<application id URI>/.default`): a
//   signed access token with the client's app roles, as a GRC tool would get,
// - Graph's checkMemberGroups / getMemberObjects, which the console reads on overage.
// Tokens are RS256 JWTs signed with a key published at the JWKS endpoint.
// Facts from learn.microsoft.com (id-token-claims-reference, access-token-claims-reference,
// "groups overage claim"): v2.0 issuer https://<host>/<tenant>/v2.0; `oid`, `tid`,
// `preferred_username`, `roles`, `groups`; above 200 groups a JWT carries
// `_claim_names: {groups: "src1"}` and `_claim_sources: {src1: {endpoint}}` instead.
import { createHash, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose';

import type { EntraDataset, GraphObject } from './dataset.js';

/** An app registration the emulator knows for sign-in or as an API. */
export interface OidcApplication {
  clientId: string;
  /** Client secret (confidential client); absent: public client (PKCE only). */
  secret?: string;
  /** PEM of a certificate the client may authenticate with instead (private_key_jwt:
   *  an RS256 assertion whose x5t#S256 or x5t header is the certificate's thumbprint). */
  certificatePem?: string;
  /** Allowed redirect URIs (exact match, as Entra requires). */
  redirectUris?: string[];
  /** App role values assigned to people (by user object id): the `roles` claim. */
  userRoles?: Record<string, string[]>;
  /** Emit a `groups` claim of the person's transitive groups; above `max` (Entra: 200)
   *  the overage pointer instead. */
  groupsClaim?: { max: number };
  /** This app is an API: its application id URI (audience of its access tokens). */
  identifierUri?: string;
  /** App roles granted to client applications (by their client id) on this API. */
  clientRoles?: Record<string, string[]>;
}

export interface OidcDependencies {
  base: () => string;
  tenantId: string;
  dataset: () => EntraDataset;
  /** The client id a Graph bearer token was issued to (client credentials), if valid. */
  graphClientOf: (bearer: string) => string | undefined;
}

export interface MintOptions {
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  notBefore?: Date;
}

export interface OidcProvider {
  readonly issuer: string;
  readonly keyId: string;
  registerApplication(app: OidcApplication): void;
  /** Signs any claims with the published key (tests make tokens with a wrong audience etc.). */
  mintToken(claims: Record<string, unknown>, options?: MintOptions): Promise<string>;
  /** Answers the OIDC paths; false when the request is not one of them. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
  /** Token grants this module serves; false leaves the request to the client-credentials code. */
  tokenGrant(form: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  userId: string;
  nonce: string | null;
  codeChallenge: string | null;
  scope: string;
  expires: number;
  used: boolean;
}

const CODE_LIFETIME_MS = 10 * 60_000;
const TOKEN_LIFETIME_S = 3600;

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

function oauthError(res: ServerResponse, status: number, error: string, code: number, description: string): void {
  const timestamp = new Date().toISOString().replace('T', ' ');
  sendJson(res, status, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
  });
}

/** Entra's answer to a client id the directory does not hold (AADSTS700016). */
function unknownClient(res: ServerResponse, clientId: string): void {
  oauthError(res, 400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory.`);
}

/** The request body as text (the token, authorize and getMemberGroups endpoints; server.ts too). */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** client_secret_post or client_secret_basic, as Entra accepts both. */
function clientCredentials(form: URLSearchParams, req: IncomingMessage): { clientId: string; secret: string | null } {
  const basic = /^Basic (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (basic) {
    const text = Buffer.from(basic, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    return { clientId: decodeURIComponent(text.slice(0, colon)), secret: decodeURIComponent(text.slice(colon + 1)) };
  }
  return { clientId: form.get('client_id') ?? '', secret: form.get('client_secret') };
}

/** private_key_jwt (Entra's certificate credential): the assertion must be signed by the
 *  client's certificate key, name the certificate by thumbprint (x5t#S256 or x5t), be
 *  issued by and about the client, for this token endpoint, and be unexpired. Used by the
 *  console's authorization_code grant and the collector's client_credentials grant.
 *  Error codes as Entra answers: AADSTS700024 (assertion type), 700027 (signature or
 *  unknown key), 700023 (issuer/subject). */
export async function verifyClientAssertion(
  tokenEndpoint: string,
  client: { clientId: string; certificatePem?: string },
  assertion: string,
  type: string | null,
): Promise<{ code: number; text: string } | undefined> {
  if (type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    return { code: 700024, text: 'client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.' };
  if (!client.certificatePem) return { code: 700027, text: 'The client has no certificate credential.' };
  const certificate = new X509Certificate(client.certificatePem);
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return { code: 700027, text: 'Client assertion is not a JWT.' };
  }
  const thumbprints = [
    createHash('sha256').update(certificate.raw).digest('base64url'),
    createHash('sha1').update(certificate.raw).digest('base64url'),
  ];
  if (!thumbprints.includes(String(header['x5t#S256'] ?? '')) && !thumbprints.includes(String(header.x5t ?? ''))) {
    return { code: 700027, text: 'Client assertion contains an invalid signature. The key was not found.' };
  }
  try {
    // Entra tolerates clock skew (five minutes), and MSAL's assertion needs it: its
    // nbf is Math.round(now) (msal-common TimeUtils.nowSeconds), up to half a second
    // in the future.
    const { payload } = await jwtVerify(assertion, certificate.publicKey, {
      algorithms: ['RS256', 'PS256'],
      audience: tokenEndpoint,
      clockTolerance: 300,
    });
    if (payload.iss !== client.clientId || payload.sub !== client.clientId)
      return { code: 700023, text: 'The client assertion must be issued by and about the client.' };
  } catch (error) {
    return { code: 700027, text: `Client assertion failed signature validation: ${(error as Error).message}` };
  }
  return undefined;
}

export async function createOidcProvider(deps: OidcDependencies): Promise<OidcProvider> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const keyId = randomBytes(8).toString('hex');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: keyId, use: 'sig', alg: 'RS256' };
  const applications = new Map<string, OidcApplication>();
  const codes = new Map<string, PendingCode>();
  const tenantPath = () => `${deps.base()}/${deps.tenantId}`;
  const issuer = () => `${tenantPath()}/v2.0`;

  async function sign(claims: Record<string, unknown>, options: MintOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const nbf = options.notBefore ? Math.floor(options.notBefore.getTime() / 1000) : now;
    return new SignJWT({ iat: now, nbf, exp: now + (options.expiresIn ?? TOKEN_LIFETIME_S), ...claims })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: keyId })
      .sign(privateKey);
  }

  const userById = (id: string): GraphObject | undefined => deps.dataset().users.find((u) => u.id === id);

  function transitiveGroupsOf(userId: string): string[] {
    const groups = deps.dataset().groups;
    const found = new Set<string>();
    let frontier = new Set([userId]);
    while (frontier.size > 0) {
      const next = new Set<string>();
      for (const group of groups) {
        if (!found.has(group.id) && group.members.some((m) => frontier.has(m))) {
          found.add(group.id);
          next.add(group.id);
        }
      }
      frontier = next;
    }
    return [...found];
  }

  function discovery(res: ServerResponse): void {
    sendJson(res, 200, {
      issuer: issuer(),
      authorization_endpoint: `${tenantPath()}/oauth2/v2.0/authorize`,
      token_endpoint: `${tenantPath()}/oauth2/v2.0/token`,
      end_session_endpoint: `${tenantPath()}/oauth2/v2.0/logout`,
      jwks_uri: `${deps.base()}/${deps.tenantId}/discovery/v2.0/keys`,
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      code_challenge_methods_supported: ['plain', 'S256'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'preferred_username', 'name', 'tid', 'oid', 'roles', 'groups'],
      tenant_region_scope: 'EU',
    });
  }

  function signInPage(res: ServerResponse, params: URLSearchParams, app: OidcApplication): void {
    const hidden = [...params.entries()]
      .map(([name, value]) => `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`)
      .join('');
    const people = deps
      .dataset()
      .users.filter((u) => u['accountEnabled'] !== false)
      .map((u) => {
        const roles = app.userRoles?.[String(u.id)] ?? [];
        const label = `${String(u['displayName'] ?? u.id)} (${String(u['userPrincipalName'] ?? '')})`;
        return `<li><form method="post">${hidden}<input type="hidden" name="login_hint_id" value="${escapeHtml(String(u.id))}"><button type="submit" data-upn="${escapeHtml(String(u['userPrincipalName'] ?? ''))}">${escapeHtml(label)}</button>${roles.length ? ` <span>app roles: ${escapeHtml(roles.join(', '))}</span>` : ''}</form></li>`;
      })
      .join('');
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in (Entra emulator)</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;color:#1a1a1a}li{margin:.3rem 0}button{font:inherit;padding:.2rem .6rem}span{color:#5f6368}</style></head>
<body><main><h1>Sign in to your account</h1><p>Entra ID emulator, tenant ${escapeHtml(deps.tenantId)}. Choose who signs in:</p><ul>${people}</ul></main></body></html>`;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(html);
  }

  function redirectWithError(res: ServerResponse, redirectUri: string, state: string | null, error: string, description: string): void {
    const target = new URL(redirectUri);
    target.searchParams.set('error', error);
    target.searchParams.set('error_description', description);
    if (state !== null) target.searchParams.set('state', state);
    res.writeHead(302, { location: target.toString() });
    res.end();
  }

  async function authorize(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const params = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams;
    const app = applications.get((params.get('client_id') ?? '').toLowerCase());
    const redirectUri = params.get('redirect_uri') ?? '';
    // Without a known client and redirect URI, Entra shows an error page, never redirects.
    if (!app) return unknownClient(res, params.get('client_id') ?? '');
    if (!(app.redirectUris ?? []).includes(redirectUri)) {
      return oauthError(
        res,
        400,
        'invalid_request',
        50011,
        `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application.`,
      );
    }
    const state = params.get('state');
    if (params.get('response_type') !== 'code')
      return redirectWithError(res, redirectUri, state, 'unsupported_response_type', 'AADSTS700054: response_type must be code.');
    const challenge = params.get('code_challenge');
    if (challenge !== null && params.get('code_challenge_method') !== 'S256') {
      return redirectWithError(
        res,
        redirectUri,
        state,
        'invalid_request',
        'AADSTS501491: code_challenge_method must be S256 in this emulator.',
      );
    }
    const userId = req.method === 'POST' ? params.get('login_hint_id') : null;
    if (!userId) return signInPage(res, params, app);
    if (!userById(userId)) return signInPage(res, params, app);
    const code = randomBytes(32).toString('base64url');
    codes.set(code, {
      clientId: app.clientId,
      redirectUri,
      userId,
      nonce: params.get('nonce'),
      codeChallenge: challenge,
      scope: params.get('scope') ?? 'openid',
      expires: Date.now() + CODE_LIFETIME_MS,
      used: false,
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    if (state !== null) target.searchParams.set('state', state);
    res.writeHead(302, { location: target.toString(), 'cache-control': 'no-store' });
    res.end();
  }

  async function authorizationCode(form: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { clientId, secret } = clientCredentials(form, req);
    const app = applications.get(clientId.toLowerCase());
    if (!app) return unknownClient(res, clientId);
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      const refusal = await verifyClientAssertion(`${tenantPath()}/oauth2/v2.0/token`, app, assertion, form.get('client_assertion_type'));
      if (refusal) return oauthError(res, 401, 'invalid_client', refusal.code, refusal.text);
    } else if (app.secret !== undefined && secret !== app.secret) {
      return oauthError(res, 401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    }
    const code = codes.get(form.get('code') ?? '');
    if (!code || code.expires < Date.now() || code.clientId !== app.clientId) {
      return oauthError(
        res,
        400,
        'invalid_grant',
        70008,
        'The provided authorization code or refresh token has expired due to inactivity.',
      );
    }
    if (code.used)
      return oauthError(
        res,
        400,
        'invalid_grant',
        54005,
        'OAuth2 Authorization code was already redeemed, please retry with a new valid code.',
      );
    code.used = true;
    if (form.get('redirect_uri') !== code.redirectUri) {
      return oauthError(res, 400, 'invalid_grant', 50148, 'The redirect_uri does not match the one used in the authorization request.');
    }
    if (code.codeChallenge !== null) {
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== code.codeChallenge) {
        return oauthError(
          res,
          400,
          'invalid_grant',
          501481,
          'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
        );
      }
    }
    const user = userById(code.userId)!;
    const claims: Record<string, unknown> = {
      ver: '2.0',
      iss: issuer(),
      aud: app.clientId,
      sub: createHash('sha256').update(`${code.userId}|${app.clientId}`).digest('base64url').slice(0, 43),
      oid: code.userId,
      tid: deps.tenantId,
      name: user['displayName'] ?? null,
      preferred_username: user['userPrincipalName'] ?? null,
      ...(code.nonce !== null ? { nonce: code.nonce } : {}),
    };
    const roles = app.userRoles?.[code.userId] ?? [];
    if (roles.length > 0) claims['roles'] = roles;
    if (app.groupsClaim) {
      const groups = transitiveGroupsOf(code.userId);
      if (groups.length > app.groupsClaim.max) {
        claims['_claim_names'] = { groups: 'src1' };
        claims['_claim_sources'] = {
          src1: { endpoint: `https://graph.windows.net/${deps.tenantId}/users/${code.userId}/getMemberObjects` },
        };
      } else {
        claims['groups'] = groups;
      }
    }
    const idToken = await sign(claims);
    // The access token is for Graph (User.Read) here; the console does not call Graph with it.
    const accessToken = await sign({
      ver: '2.0',
      iss: issuer(),
      aud: '00000003-0000-0000-c000-000000000000',
      oid: code.userId,
      tid: deps.tenantId,
      scp: 'User.Read',
      azp: app.clientId,
    });
    sendJson(res, 200, {
      token_type: 'Bearer',
      scope: code.scope,
      expires_in: TOKEN_LIFETIME_S,
      ext_expires_in: TOKEN_LIFETIME_S,
      access_token: accessToken,
      id_token: idToken,
    });
  }

  async function apiClientCredentials(
    form: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    api: OidcApplication,
  ): Promise<void> {
    const { clientId, secret } = clientCredentials(form, req);
    const client =
      deps.dataset().clients.find((c) => c.clientId.toLowerCase() === clientId.toLowerCase()) ??
      [...applications.values()].find((a) => a.clientId.toLowerCase() === clientId.toLowerCase());
    if (!client)
      return oauthError(
        res,
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory.`,
      );
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      const refusal = await verifyClientAssertion(
        `${tenantPath()}/oauth2/v2.0/token`,
        client,
        assertion,
        form.get('client_assertion_type'),
      );
      if (refusal) return oauthError(res, 401, 'invalid_client', refusal.code, refusal.text);
    } else if (client.secret === undefined || secret !== client.secret) {
      return oauthError(res, 401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    }
    const roles = api.clientRoles?.[client.clientId] ?? [];
    const token = await sign({
      ver: '2.0',
      iss: issuer(),
      aud: api.identifierUri,
      sub: client.clientId,
      oid: randomUUID(),
      tid: deps.tenantId,
      azp: client.clientId,
      idtyp: 'app',
      ...(roles.length ? { roles } : {}),
    });
    sendJson(res, 200, { token_type: 'Bearer', expires_in: TOKEN_LIFETIME_S, ext_expires_in: TOKEN_LIFETIME_S, access_token: token });
  }

  async function memberGroups(req: IncomingMessage, res: ServerResponse, userId: string, operation: string): Promise<void> {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !deps.graphClientOf(bearer)) {
      return sendJson(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty or invalid.' } });
    }
    if (!userById(userId))
      return sendJson(res, 404, { error: { code: 'Request_ResourceNotFound', message: `Resource '${userId}' does not exist.` } });
    const body = JSON.parse((await readBody(req)) || '{}') as { groupIds?: unknown; securityEnabledOnly?: unknown };
    const groups = transitiveGroupsOf(userId);
    if (operation === 'checkMemberGroups') {
      if (!Array.isArray(body.groupIds) || body.groupIds.length > 20) {
        return sendJson(res, 400, { error: { code: 'Request_BadRequest', message: 'groupIds must be a list of at most 20 group ids.' } });
      }
      const wanted = body.groupIds.map(String);
      return sendJson(res, 200, {
        '@odata.context': `${deps.base()}/v1.0/$metadata#Collection(Edm.String)`,
        value: groups.filter((g) => wanted.includes(g)),
      });
    }
    return sendJson(res, 200, { '@odata.context': `${deps.base()}/v1.0/$metadata#Collection(Edm.String)`, value: groups });
  }

  return {
    get issuer() {
      return issuer();
    },
    keyId,
    registerApplication(app) {
      applications.set(app.clientId.toLowerCase(), app);
    },
    mintToken: (claims, options) => sign(claims, options),
    async handle(req, res, url) {
      const tenant = `/${deps.tenantId}`;
      const path = url.pathname;
      if (req.method === 'GET' && path === `${tenant}/v2.0/.well-known/openid-configuration`) {
        discovery(res);
        return true;
      }
      if (req.method === 'GET' && path === `${tenant}/discovery/v2.0/keys`) {
        sendJson(res, 200, { keys: [publicJwk] });
        return true;
      }
      if ((req.method === 'GET' || req.method === 'POST') && path === `${tenant}/oauth2/v2.0/authorize`) {
        await authorize(req, res, url);
        return true;
      }
      const member = /^\/v1\.0\/users\/([^/]+)\/(checkMemberGroups|getMemberObjects)$/.exec(path);
      if (member && req.method === 'POST') {
        await memberGroups(req, res, decodeURIComponent(member[1]!), member[2]!);
        return true;
      }
      return false;
    },
    async tokenGrant(form, req, res) {
      const grant = form.get('grant_type');
      if (grant === 'authorization_code') {
        await authorizationCode(form, req, res);
        return true;
      }
      if (grant === 'client_credentials') {
        const resource = (form.get('scope') ?? '')
          .split(' ')
          .find((s) => s.endsWith('/.default'))
          ?.slice(0, -'/.default'.length);
        const api = [...applications.values()].find((a) => a.identifierUri !== undefined && a.identifierUri === resource);
        if (api) {
          await apiClientCredentials(form, req, res, api);
          return true;
        }
      }
      return false;
    },
  };
}
