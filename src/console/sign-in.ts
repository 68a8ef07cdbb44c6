// Sign-in to the console with Entra ID: OpenID Connect authorization code flow with
// PKCE (S256), state and nonce, through openid-client against
// AZURE_AUTHORITY_HOST/<tenant>/v2.0. The ID token's signature is also checked with jose
// against the tenant's keys (openid-client trusts the TLS channel for it), and its
// claims give the console role (roles.ts). Client authentication: a secret, or a
// certificate (private_key_jwt with the certificate's thumbprints in the header, as
// Entra asks).
import { createHash, createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import * as client from 'openid-client';

import { tenantIssuer, tenantKeySet } from '../api/entra-keys.js';
import { type FetchLike, httpsFetch } from '../api/https-fetch.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { hasGroupsOverage, mappedGroupIds, roleFor, type RoleMapping, stringList } from './roles.js';
import type { ConsoleRole, PendingSignIn } from './session.repository.js';

export interface ConsoleSettings {
  clientId: string;
  publicUrl: URL;
  redirectUri: string;
  secure: boolean;
  issuer: string;
  tenantId: string;
  roles: RoleMapping;
  sessionHours: number;
  graphBaseUrl: string;
}

/** The console's settings, or why it is off (it needs a client id, a credential, a tenant and the public URL). */
export function consoleSettings(config: Config): ConsoleSettings | { off: string } {
  const missing: string[] = [];
  if (!config.ACCESSTRAIL_UI_CLIENT_ID) missing.push('ACCESSTRAIL_UI_CLIENT_ID');
  if (!config.ACCESSTRAIL_UI_CLIENT_SECRET && !config.ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH)
    missing.push('ACCESSTRAIL_UI_CLIENT_SECRET or ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH');
  if (!config.AZURE_TENANT_ID) missing.push('AZURE_TENANT_ID');
  if (missing.length > 0) return { off: `the console needs ${missing.join(', ')}` };
  // Unset: where `serve` listens (fine on one machine; behind a proxy, set it).
  const publicUrl = new URL(
    config.ACCESSTRAIL_PUBLIC_URL ?? `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${config.PORT}`,
  );
  const base = publicUrl.toString().replace(/\/+$/, '');
  return {
    clientId: config.ACCESSTRAIL_UI_CLIENT_ID!,
    publicUrl,
    redirectUri: `${base}/auth/callback`,
    secure: publicUrl.protocol === 'https:',
    issuer: tenantIssuer(config)!,
    tenantId: config.AZURE_TENANT_ID!,
    roles: { viewer: [...config.consoleRoles.viewer], reviewer: [...config.consoleRoles.reviewer], admin: [...config.consoleRoles.admin] },
    sessionHours: config.ACCESSTRAIL_UI_SESSION_HOURS,
    graphBaseUrl: config.GRAPH_BASE_URL.replace(/\/+$/, ''),
  };
}

export interface SignedInPerson {
  subject: string;
  tenantId: string | null;
  displayName: string | null;
  username: string | null;
  role: ConsoleRole | undefined;
  appRoles: string[];
  groupCount: number;
  groupsFrom: 'token' | 'graph' | 'none';
}

export interface EntraSignIn {
  begin(returnTo: string): Promise<{ url: URL; pending: PendingSignIn }>;
  finish(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInPerson>;
}

async function certificateAuth(file: string, tokenEndpoint: string): Promise<client.ClientAuth> {
  const pem = readFileSync(file, 'utf8');
  const certificate = new X509Certificate(pem);
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  const x5t = createHash('sha1').update(certificate.raw).digest('base64url');
  const x5tS256 = createHash('sha256').update(certificate.raw).digest('base64url');
  return client.PrivateKeyJwt(key, {
    [client.modifyAssertion]: (header, payload) => {
      // Entra identifies the certificate by its thumbprint, and wants its token
      // endpoint as the audience (openid-client puts the issuer there).
      (header as Record<string, unknown>)['x5t'] = x5t;
      (header as Record<string, unknown>)['x5t#S256'] = x5tS256;
      (payload as Record<string, unknown>)['aud'] = tokenEndpoint;
    },
  });
}

/** openid-client's errors in words: Entra's own error and description, or what failed. */
export function describeOidcError(error: unknown): string {
  if (error instanceof client.ResponseBodyError)
    return `Entra refused the sign-in: ${error.error}${error.error_description ? ` (${error.error_description.split(' Trace ID:')[0]})` : ''}`;
  if (error instanceof client.AuthorizationResponseError)
    return `Entra returned an error: ${error.error}${error.error_description ? ` (${error.error_description})` : ''}`;
  const message = (error as Error).message;
  const cause = (error as { cause?: unknown }).cause;
  const detail = cause && typeof cause === 'object' && 'message' in cause ? String((cause as { message: unknown }).message) : '';
  return `the sign-in response was not accepted: ${message}${detail ? ` (${detail})` : ''}`;
}

export function createEntraSignIn(config: Config, settings: ConsoleSettings, options: { tlsCa?: string } = {}): EntraSignIn {
  const fetchImpl: FetchLike = httpsFetch(options.tlsCa);
  const keys: JWTVerifyGetKey = tenantKeySet(config, options.tlsCa)!;
  let configuration: Promise<client.Configuration> | undefined;

  function discover(): Promise<client.Configuration> {
    configuration ??= (async () => {
      const auth = config.ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH
        ? await certificateAuth(
            path.resolve(config.ACCESSTRAIL_UI_CLIENT_CERTIFICATE_PATH),
            `${settings.issuer.replace(/\/v2\.0$/, '')}/oauth2/v2.0/token`,
          )
        : client.ClientSecretPost(config.ACCESSTRAIL_UI_CLIENT_SECRET!);
      return client.discovery(
        new URL(settings.issuer),
        settings.clientId,
        { redirect_uris: [settings.redirectUri], response_types: ['code'] },
        auth,
        {
          [client.customFetch]: fetchImpl as client.CustomFetch,
          timeout: 15,
        },
      );
    })().catch((error: unknown) => {
      configuration = undefined; // try again on the next sign-in
      throw new AppError(
        'UPSTREAM_UNAVAILABLE',
        `cannot read Entra's OpenID configuration at ${settings.issuer}: ${(error as Error).message}`,
        { cause: error },
      );
    });
    return configuration;
  }

  /** Group memberships through Graph, for the overage case: checkMemberGroups with the
   *  console app's own token (application permission GroupMember.Read.All). Only the
   *  groups the mapping names are asked about (20 per call, Graph's limit). */
  async function groupsFromGraph(objectId: string): Promise<string[]> {
    const wanted = mappedGroupIds(settings.roles);
    if (wanted.length === 0) return [];
    const conf = await discover();
    const token = await client.clientCredentialsGrant(conf, { scope: `${new URL(settings.graphBaseUrl).origin}/.default` });
    const found: string[] = [];
    for (let i = 0; i < wanted.length; i += 20) {
      const response = await fetchImpl(`${settings.graphBaseUrl}/v1.0/users/${encodeURIComponent(objectId)}/checkMemberGroups`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ groupIds: wanted.slice(i, i + 20) }),
      });
      if (!response.ok)
        throw new AppError(
          'UPSTREAM_UNAVAILABLE',
          `Graph refused the group membership check (HTTP ${response.status}); the console app needs GroupMember.Read.All`,
        );
      const body = (await response.json()) as { value?: unknown };
      found.push(...stringList(body.value));
    }
    return found;
  }

  return {
    async begin(returnTo) {
      const conf = await discover();
      const pending: PendingSignIn = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        codeVerifier: client.randomPKCECodeVerifier(),
        returnTo,
      };
      const url = client.buildAuthorizationUrl(conf, {
        redirect_uri: settings.redirectUri,
        scope: 'openid profile',
        response_type: 'code',
        response_mode: 'query',
        code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
      });
      return { url, pending };
    },

    async finish(callbackUrl, pending) {
      const conf = await discover();
      let tokens;
      try {
        tokens = await client.authorizationCodeGrant(conf, callbackUrl, {
          pkceCodeVerifier: pending.codeVerifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        throw new AppError('UNAUTHORIZED', describeOidcError(error), { cause: error });
      }
      if (!tokens.id_token) throw new AppError('UNAUTHORIZED', 'Entra returned no ID token');
      const { payload } = await jwtVerify(tokens.id_token, keys, {
        issuer: settings.issuer,
        audience: settings.clientId,
        algorithms: ['RS256'],
      });
      const claims = payload as Record<string, unknown>;
      const appRoles = stringList(claims['roles']);
      let groupIds = stringList(claims['groups']);
      let groupsFrom: SignedInPerson['groupsFrom'] = 'groups' in claims ? 'token' : 'none';
      const objectId = typeof claims['oid'] === 'string' ? claims['oid'] : undefined;
      if (groupIds.length === 0 && hasGroupsOverage(claims) && mappedGroupIds(settings.roles).length > 0 && objectId) {
        groupIds = await groupsFromGraph(objectId);
        groupsFrom = 'graph';
      }
      return {
        subject: objectId ?? String(claims['sub']),
        tenantId: typeof claims['tid'] === 'string' ? claims['tid'] : null,
        displayName: typeof claims['name'] === 'string' ? claims['name'] : null,
        username: typeof claims['preferred_username'] === 'string' ? claims['preferred_username'] : null,
        role: roleFor({ appRoles, groupIds }, settings.roles),
        appRoles,
        groupCount: groupIds.length,
        groupsFrom,
      };
    },
  };
}
