// Entra credential checks: the configured credential obtains a Graph token from the
// configured tenant, and how long its secret or certificate has left.
//
// Token errors are told apart by their AADSTS code (Microsoft's error-code reference,
// learn.microsoft.com/entra/identity-platform/reference-error-codes):
//   90002   tenant not found                       → AZURE_TENANT_ID is wrong
//   700016  application not found in the directory → the app lives in another tenant
//   7000215 invalid client secret                  → the Secret ID was pasted, or a typo
//   7000222 client secret keys expired             → create a new secret
//   700027  client assertion failed (certificate)  → the certificate is not registered
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

import type { TokenCredential } from '@azure/identity';

import type { Config } from '../config.js';
import { type Check, fail, pass, skip, warn } from './check.js';
import { failureText, type GraphProbe, type Json, odataString, query } from './graph-probe.js';

const NAME_TOKEN = 'credential obtains a token';
const NAME_EXPIRY = 'credential expiry';
/** A secret or certificate ending within this many days is warned about. */
export const EXPIRY_WARNING_DAYS = 30;

export interface TokenOutcome {
  ok: boolean;
  /** Tenant id (GUID) the token was issued for, when the token says (a JWT's tid). */
  tokenTenant?: string;
  /** AADSTS code of a refusal. */
  aadsts?: number;
  message?: string;
}

/** Reads `tid` from a JWT access token; undefined for opaque tokens. */
export function tokenTenantId(accessToken: string): string | undefined {
  const parts = accessToken.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { tid?: unknown };
    return typeof claims.tid === 'string' ? claims.tid : undefined;
  } catch {
    return undefined;
  }
}

/** The AADSTS line of an identity error, without trace ids and timestamps. */
export function aadstsReason(message: string): { code: number; text: string } | undefined {
  const match = /AADSTS(\d+):[^\r\n]*?(?=\s+Trace ID:|$|\r|\n)/.exec(message);
  return match ? { code: Number(match[1]), text: match[0].trim() } : undefined;
}

export async function requestToken(credential: TokenCredential, graphBaseUrl: string): Promise<TokenOutcome> {
  try {
    const token = await credential.getToken(`${new URL(graphBaseUrl).origin}/.default`);
    if (!token?.token) return { ok: false, message: 'the credential returned no token' };
    const tokenTenant = tokenTenantId(token.token);
    return { ok: true, ...(tokenTenant ? { tokenTenant } : {}) };
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    const reason = aadstsReason(message);
    return { ok: false, message: reason?.text ?? message.split('\n')[0]!, ...(reason ? { aadsts: reason.code } : {}) };
  }
}

const isGuid = (value: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);

function credentialKind(config: Config): string {
  if (config.AZURE_CLIENT_SECRET) return 'client secret';
  if (config.AZURE_CLIENT_CERTIFICATE_PATH) return 'client certificate';
  return 'ambient credential (DefaultAzureCredential)';
}

/** What the token endpoint's known AADSTS refusals mean, and how to fix each. */
function knownRefusal(code: number, names: { tenant: string; client: string }): { problem: string; fix: string } | undefined {
  const { tenant, client } = names;
  switch (code) {
    case 90002:
      return {
        problem: `tenant ${tenant} does not exist`,
        fix: "set AZURE_TENANT_ID to the Directory (tenant) ID shown on the app registration's Overview page (and check AZURE_AUTHORITY_HOST names the right cloud)",
      };
    case 700016:
      return {
        problem: `app ${client} is not registered in tenant ${tenant} (tenant mismatch)`,
        fix: 'use the tenant the app is registered in for AZURE_TENANT_ID, or register the collector app in this tenant and set AZURE_CLIENT_ID to its Application (client) ID',
      };
    case 7000215:
      return {
        problem: 'the client secret was refused',
        fix: "set AZURE_CLIENT_SECRET to the secret's Value (not its Secret ID); if lost, create a new secret under App registrations → Certificates & secrets",
      };
    case 7000222:
      return {
        problem: 'the client secret has expired',
        fix: `create a new client secret for app ${client} (App registrations → Certificates & secrets), set AZURE_CLIENT_SECRET to it, then delete the expired one`,
      };
    case 700027:
    case 700024:
      return {
        problem: 'the certificate assertion was refused',
        fix: `upload the certificate in AZURE_CLIENT_CERTIFICATE_PATH to app ${client} (Certificates & secrets → Certificates), or renew it`,
      };
    default:
      return undefined;
  }
}

/** The token check's line, from what the token endpoint said. */
export function tokenCheck(config: Config, outcome: TokenOutcome): Check {
  const tenant = config.AZURE_TENANT_ID ?? '(unset)';
  const client = config.AZURE_CLIENT_ID ?? '(unset)';
  const kind = credentialKind(config);
  if (outcome.ok) {
    if (outcome.tokenTenant && isGuid(tenant) && outcome.tokenTenant.toLowerCase() !== tenant.toLowerCase()) {
      return fail(
        'entra',
        NAME_TOKEN,
        `the token was issued by tenant ${outcome.tokenTenant}, not AZURE_TENANT_ID ${tenant}`,
        'set AZURE_TENANT_ID to the Directory (tenant) ID of the tenant that holds the Metabase app',
      );
    }
    const tid = outcome.tokenTenant ? ` (token tenant ${outcome.tokenTenant})` : '';
    return pass('entra', NAME_TOKEN, `${kind} of app ${client} got a Graph token from tenant ${tenant}${tid}`);
  }
  const said = outcome.message ?? 'refused';
  const refusal = outcome.aadsts === undefined ? undefined : knownRefusal(outcome.aadsts, { tenant, client });
  if (refusal) return fail('entra', NAME_TOKEN, `${refusal.problem}: ${said}`, refusal.fix);
  if (/endpoints_resolution_error|untrusted_authority|issuer_validation_failed|ENOTFOUND|ECONNREFUSED|certificate/i.test(said)) {
    return fail(
      'entra',
      NAME_TOKEN,
      `could not reach or trust the token authority ${config.AZURE_AUTHORITY_HOST}: ${said}`,
      'check AZURE_AUTHORITY_HOST, the network path to it and the trusted certificates',
    );
  }
  return fail(
    'entra',
    NAME_TOKEN,
    `no token for app ${client} in tenant ${tenant}: ${said}`,
    'check AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)',
  );
}

export interface InUseCredential {
  kind: 'secret' | 'certificate';
  /** First three characters of the secret (Graph's passwordCredential.hint). */
  hint?: string;
  /** SHA-1 thumbprint of the certificate, upper-case hex. */
  thumbprint?: string;
}

/** What identifies the configured credential among the app's credentials, never the secret itself. */
export function inUseCredential(config: Config): InUseCredential | null {
  if (config.AZURE_CLIENT_SECRET) return { kind: 'secret', hint: config.AZURE_CLIENT_SECRET.slice(0, 3) };
  if (config.AZURE_CLIENT_CERTIFICATE_PATH) {
    try {
      const pem = readFileSync(config.AZURE_CLIENT_CERTIFICATE_PATH, 'utf8');
      const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
      if (!block) return { kind: 'certificate' };
      const der = new X509Certificate(block).raw;
      return { kind: 'certificate', thumbprint: createHash('sha1').update(der).digest('hex').toUpperCase() };
    } catch {
      return { kind: 'certificate' };
    }
  }
  return null;
}

function thumbprintOf(credential: Json): string | undefined {
  const id = credential['customKeyIdentifier'];
  if (typeof id !== 'string' || id === '') return undefined;
  // Graph serves customKeyIdentifier (the thumbprint) as base64; some tools write hex.
  if (/^[0-9a-f]{40}$/i.test(id)) return id.toUpperCase();
  return Buffer.from(id, 'base64').toString('hex').toUpperCase();
}

const DAY_MS = 86_400_000;

/** Days left on the configured credential, from the app's passwordCredentials /
 *  keyCredentials (endDateTime). Pure: `app` is the application object Graph returned. */
export function expiryCheck(app: Json | undefined, inUse: InUseCredential | null, now: Date, clientId: string): Check {
  if (!inUse) return skip('entra', NAME_EXPIRY, 'an ambient credential (managed identity or developer sign-in) has no end date to check');
  if (!app)
    return warn(
      'entra',
      NAME_EXPIRY,
      `app ${clientId} has no application object in this tenant, so its ${inUse.kind} end date cannot be read`,
      "register the collector app in the tenant it collects from, or track the credential's end date where the app is registered",
    );
  const list = (inUse.kind === 'secret' ? app['passwordCredentials'] : app['keyCredentials']) as Json[] | undefined;
  const credentials = Array.isArray(list) ? list : [];
  let candidates = credentials.filter((c) =>
    inUse.kind === 'secret'
      ? inUse.hint !== undefined && c['hint'] === inUse.hint
      : inUse.thumbprint !== undefined && thumbprintOf(c) === inUse.thumbprint,
  );
  // Named by its display name and key id, never by its hint: even three characters of a
  // secret stay out of the output.
  const describe = (c: Json) =>
    `${inUse.kind === 'secret' ? 'secret' : 'certificate'} "${String(c['displayName'] ?? '')}" (key ${String(c['keyId'] ?? 'unknown')})`;
  let which = candidates.length === 1 ? `the ${describe(candidates[0]!)} in use` : `the ${inUse.kind} in use`;
  if (candidates.length === 0) {
    if (credentials.length === 0)
      return warn(
        'entra',
        NAME_EXPIRY,
        `app ${clientId} lists no ${inUse.kind === 'secret' ? 'client secrets' : 'certificates'}`,
        `check that AZURE_CLIENT_ID names the app the ${inUse.kind} belongs to`,
      );
    // Not identifiable (hint not served, or an unreadable certificate file): judge by the
    // one that ends first, so a warning is never missed.
    candidates = credentials;
    which = `the first-ending of ${credentials.length} ${inUse.kind === 'secret' ? 'secrets' : 'certificates'} (the one in use could not be identified)`;
  }
  const ends = candidates.map((c) => Date.parse(String(c['endDateTime']))).filter((t) => !Number.isNaN(t));
  if (ends.length === 0) return warn('entra', NAME_EXPIRY, `${which} has no endDateTime`, undefined);
  const end = Math.min(...ends);
  const days = Math.floor((end - now.getTime()) / DAY_MS);
  const endText = new Date(end).toISOString().slice(0, 10);
  const renew = `create a new ${inUse.kind === 'secret' ? 'client secret' : 'certificate'} for app ${clientId} (App registrations → Certificates & secrets) and update ${inUse.kind === 'secret' ? 'AZURE_CLIENT_SECRET' : 'AZURE_CLIENT_CERTIFICATE_PATH'}`;
  if (end <= now.getTime()) return fail('entra', NAME_EXPIRY, `${which} expired on ${endText}`, renew);
  if (days < EXPIRY_WARNING_DAYS)
    return warn('entra', NAME_EXPIRY, `${which} expires in ${days} day${days === 1 ? '' : 's'} (${endText})`, renew);
  return pass('entra', NAME_EXPIRY, `${which} expires in ${days} days (${endText})`);
}

/** Reads the collector app's own credentials through Graph and judges their end date. */
export async function credentialExpiry(config: Config, graph: GraphProbe, now: Date): Promise<Check> {
  const clientId = config.AZURE_CLIENT_ID ?? '';
  const inUse = inUseCredential(config);
  if (!inUse || !clientId) return expiryCheck(undefined, null, now, clientId);
  const outcome = await graph.get(
    query('v1.0/applications', {
      $filter: `appId eq ${odataString(clientId)}`,
      $select: 'id,appId,displayName,passwordCredentials,keyCredentials',
    }),
  );
  if (!outcome.ok) {
    return warn(
      'entra',
      NAME_EXPIRY,
      `could not read app ${clientId}'s credentials: ${failureText(outcome.error)}`,
      "grant the collector app Application.Read.All (it reads the Metabase app's credentials too)",
    );
  }
  return expiryCheck(outcome.value[0], inUse, now, clientId);
}
