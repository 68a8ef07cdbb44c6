// A local HTTPS emulator of Entra's token service and the Microsoft Graph endpoints the
// collector reads, close enough that the real @azure/identity and graph-client talk to it
// unchanged (spec §5.3): OpenID discovery with an issuer on the same host, the
// client-credentials token endpoint with Entra's error bodies, absolute https nextLinks,
// the reporting throttle (429 + Retry-After) and injectable faults. Product code: tests,
// the demo and the benchmark run against it.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import { generate } from 'selfsigned';

import { seededRandom } from '../seeded-random.js';
import { expiredSecretRefusal } from './credential-expiry.js';
import { betaOnlySignInFields, emptyDataset, type EntraDataset, type EntraGroup, type GraphObject } from './dataset.js';
import { compileFilter, FilterError, project } from './odata.js';
import { createOidcProvider, type OidcProvider, readBody, verifyClientAssertion } from './oidc.js';

export type FaultKind =
  '429' | '500' | '502' | '503' | '504' | 'reset' | 'empty-page' | 'bad-skip-token' | 'hang' | 'truncated-body' | 'cut-body';

/** A fault served to chosen requests instead of random ones: the `after`+1-th to the
 *  `after`+`times`-th Graph request that matches (path prefix, first pages or
 *  continuation pages only). A 429 storm is `{ kind: '429', times: 30 }`. */
export interface ScriptedFault {
  kind: FaultKind;
  /** Path prefix without the version, e.g. 'auditLogs/signIns', 'users', 'groups/'. */
  path?: string;
  /** true: only requests that carry a $skiptoken (nextLink pages); false: only first pages. */
  continuation?: boolean;
  /** Matching requests let through before the fault starts. */
  after?: number;
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

export interface EntraFaults {
  /** Share of Graph requests (0..1) that get a random fault from `kinds`. */
  rate?: number;
  kinds?: FaultKind[];
  /** Seed of the fault generator, so a failing run can be replayed. */
  seed?: number;
  /** Retry-After of an injected 429 burst, in seconds (fractions allowed). */
  retryAfterSeconds?: number;
  /** How long a 'hang' fault holds the request before answering. */
  hangMs?: number;
  /** Reporting throttle per client and tenant (Graph: 5 requests / 10 s); null = off. */
  throttle?: { requests: number; windowMs: number } | null;
  /** 403 Authorization_RequestDenied for every Graph path (true) or those starting with a prefix. */
  forbidden?: boolean | string[];
  /** 403 "Neither tenant is B2C or tenant doesn't have premium license" on sign-ins. */
  licence?: boolean;
  /** The beta endpoint refuses every request (400). */
  betaRefused?: boolean;
  /** Selecting employeeLeaveDateTime is refused (no User-LifeCycleInfo.Read.All). */
  refuseLeaveDates?: boolean;
  /** Risk fields of sign-ins are served as `hidden` (tenant without P2). */
  hideRisk?: boolean;
  /** Faults at chosen requests (checked before the random `rate`). */
  script?: ScriptedFault[];
  /** A log query whose time filter spans more than `records` records of the whole log
   *  (every app, before the other clauses: what the service must scan) is answered with a
   *  504 GatewayTimeout, or held for `hangMs` ('hang'): Graph's behaviour on wide filters
   *  over large tenants (msgraph-sdk-powershell#2941, #3146). */
  scanLimit?: { records: number; reply?: '504' | 'hang' };
}

export interface EntraEmulatorOptions {
  tenantId?: string;
  port?: number;
  dataset?: EntraDataset;
  faults?: EntraFaults;
  /** Default page sizes when no $top is sent (Graph: 1,000 for logs, 100 for directory objects). */
  pageSizes?: { logs?: number; directory?: number };
  /** Serve at most this many records per page whatever $top asks (Graph may also send
   *  short pages); small values make many pages out of a small dataset. */
  maxPageSize?: number;
  /** Called for every Graph request before it is answered (tests use it to interrupt a run). */
  onRequest?: (request: { path: string; version: string; query: URLSearchParams }) => void;
}

export interface EntraEmulatorStats {
  requests: number;
  tokenRequests: number;
  graphRequests: number;
  /** Requests to /auditLogs/* that were answered (not throttled). */
  reportingRequests: number;
  /** Arrival times (ms epoch) of the answered reporting requests. */
  reportingTimes: number[];
  throttled: number;
  faults: Partial<Record<FaultKind, number>>;
  byPath: Record<string, number>;
}

export interface EntraEmulator {
  readonly url: string;
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
  readonly tenantId: string;
  readonly caCertificatePem: string;
  readonly stats: EntraEmulatorStats;
  /** Sign-in (OIDC) and API access tokens: see oidc.ts. */
  readonly oidc: OidcProvider;
  dataset: EntraDataset;
  /** Called for every Graph request before it is answered (replaceable between runs). */
  onRequest: EntraEmulatorOptions['onRequest'];
  setFaults(faults: EntraFaults): void;
  resetStats(): void;
  close(): Promise<void>;
}

function freshStats(): EntraEmulatorStats {
  return {
    requests: 0,
    tokenRequests: 0,
    graphRequests: 0,
    reportingRequests: 0,
    reportingTimes: [],
    throttled: 0,
    faults: {},
    byPath: {},
  };
}

async function makeCertificate(): Promise<{ key: string; cert: string }> {
  // CA:TRUE so the certificate can be handed to Node as a trusted CA (NODE_EXTRA_CA_CERTS
  // or tls `ca`); the SANs cover both names a client may use.
  const pems = await generate([{ name: 'commonName', value: 'accesstrail Entra emulator' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 7 * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function graphError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(
    res,
    status,
    {
      error: {
        code,
        message,
        innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() },
      },
    },
    headers,
  );
}

function entraError(res: ServerResponse, status: number, error: string, code: number, description: string): void {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace('Z', 'Z');
  sendJson(res, status, {
    error,
    error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
  });
}

interface ListSpec {
  items: () => GraphObject[];
  filterable: ReadonlySet<string>;
  sortBy?: string;
  reporting: boolean;
  transform?: (record: GraphObject) => GraphObject;
}

interface SkipToken {
  o: number;
  k: string;
  e?: 1;
}

export async function startEntraEmulator(options: EntraEmulatorOptions = {}): Promise<EntraEmulator> {
  const tenantId = options.tenantId ?? randomUUID();
  const { key, cert } = await makeCertificate();
  let faults: EntraFaults = { ...options.faults };
  let random = seededRandom(faults.seed ?? 1);
  // How many requests matched each scripted fault so far (reset with setFaults).
  let scriptSeen: number[] = [];
  let stats = freshStats();
  const tokens = new Map<string, { clientId: string; expires: number }>();
  const throttleLog = new Map<string, number[]>();
  const resultCache = new Map<string, GraphObject[]>();
  const sockets = new Set<Socket>();
  const logPageSize = options.pageSizes?.logs ?? 1000;
  const directoryPageSize = options.pageSizes?.directory ?? 100;
  let port = 0;
  const oidc = await createOidcProvider({
    base: () => `https://localhost:${port}`,
    tenantId,
    dataset: () => emulator.dataset,
    graphClientOf: (bearer) => {
      const session = tokens.get(bearer);
      return session && session.expires >= Date.now() ? session.clientId : undefined;
    },
  });

  const emulator: EntraEmulator = {
    oidc,
    get url() {
      return `https://localhost:${port}`;
    },
    get authorityHost() {
      return `https://localhost:${port}`;
    },
    get graphBaseUrl() {
      return `https://localhost:${port}/`;
    },
    tenantId,
    caCertificatePem: cert,
    get stats() {
      return stats;
    },
    dataset: options.dataset ?? emptyDataset(),
    onRequest: options.onRequest,
    setFaults(next) {
      faults = { ...next };
      random = seededRandom(faults.seed ?? 1);
      scriptSeen = [];
    },
    resetStats() {
      stats = freshStats();
      throttleLog.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };

  const base = () => `https://localhost:${port}`;

  // --- token side -------------------------------------------------------------------

  function openIdConfiguration(res: ServerResponse, tenant: string): void {
    // The issuer must share scheme, host and port with the authority (msal-common 16
    // validates it), hence localhost rather than 127.0.0.1.
    sendJson(res, 200, {
      token_endpoint: `${base()}/${tenant}/oauth2/v2.0/token`,
      authorization_endpoint: `${base()}/${tenant}/oauth2/v2.0/authorize`,
      issuer: `${base()}/${tenant}/v2.0`,
      jwks_uri: `${base()}/${tenant}/discovery/v2.0/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      tenant_region_scope: 'EU',
    });
  }

  async function token(req: IncomingMessage, res: ServerResponse, tenant: string): Promise<void> {
    stats.tokenRequests++;
    const form = new URLSearchParams(await readBody(req));
    if (tenant.toLowerCase() !== tenantId.toLowerCase()) {
      entraError(
        res,
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      );
      return;
    }
    if (await oidc.tokenGrant(form, req, res)) return;
    if (form.get('grant_type') !== 'client_credentials') {
      entraError(res, 400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
      return;
    }
    const clientId = form.get('client_id') ?? '';
    const client = emulator.dataset.clients.find((c) => c.clientId.toLowerCase() === clientId.toLowerCase());
    if (!client) {
      entraError(
        res,
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant}'.`,
      );
      return;
    }
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      // A certificate credential (what ClientCertificateCredential sends).
      const refusal = await verifyClientAssertion(
        `${base()}/${tenant}/oauth2/v2.0/token`,
        client,
        assertion,
        form.get('client_assertion_type'),
      );
      if (refusal) {
        entraError(res, 401, 'invalid_client', refusal.code, refusal.text);
        return;
      }
    } else if (client.secret === undefined || form.get('client_secret') !== client.secret) {
      entraError(
        res,
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.clientId}'.`,
      );
      return;
    }
    const expired = expiredSecretRefusal(client, Date.now());
    if (expired) {
      entraError(res, expired.status, expired.error, expired.code, expired.description);
      return;
    }
    const accessToken = randomBytes(24).toString('base64url');
    tokens.set(accessToken, { clientId: client.clientId, expires: Date.now() + 3_600_000 });
    sendJson(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken });
  }

  // --- graph side -------------------------------------------------------------------

  const byId = (id: string): GraphObject | undefined => {
    const user = emulator.dataset.users.find((u) => u.id === id);
    if (user) return { '@odata.type': '#microsoft.graph.user', ...user };
    const group = emulator.dataset.groups.find((g) => g.id === id);
    if (group) return { '@odata.type': '#microsoft.graph.group', ...withoutMembers(group) };
    const sp = emulator.dataset.servicePrincipals.find((s) => s.id === id);
    if (sp) return { '@odata.type': '#microsoft.graph.servicePrincipal', ...sp };
    return undefined;
  };

  function withoutMembers(group: EntraGroup): GraphObject {
    const { members: _members, ...rest } = group;
    return rest;
  }

  function transitiveMemberIds(group: EntraGroup): string[] {
    const seen = new Set<string>();
    const visitedGroups = new Set<string>([group.id]);
    const queue = [...group.members];
    while (queue.length) {
      const id = queue.shift()!;
      if (seen.has(id)) continue;
      seen.add(id);
      const nested = emulator.dataset.groups.find((g) => g.id === id);
      if (nested && !visitedGroups.has(nested.id)) {
        visitedGroups.add(nested.id);
        queue.push(...nested.members);
      }
    }
    return [...seen];
  }

  function hideRisk(record: GraphObject): GraphObject {
    if (!faults.hideRisk) return record;
    return { ...record, riskDetail: 'hidden', riskLevelAggregated: 'hidden', riskLevelDuringSignIn: 'hidden', riskState: 'none' };
  }

  function listSpec(path: string, version: string): ListSpec | undefined {
    const ds = emulator.dataset;
    if (path === 'auditLogs/signIns') {
      const beta = version === 'beta';
      return {
        reporting: true,
        sortBy: 'createdDateTime',
        filterable: new Set([
          'createdDateTime',
          'appId',
          'userId',
          'userPrincipalName',
          'status/errorCode',
          ...(beta ? ['signInEventTypes/any'] : []),
        ]),
        items: () =>
          beta
            ? ds.signIns
            : // v1.0 serves interactive sign-ins only, without the beta fields (spec §1.1, §1.2).
              ds.signIns.filter((s) => s['isInteractive'] !== false),
        transform: (record) => {
          const out = hideRisk(record);
          if (beta) return out;
          const copy: GraphObject = { ...out };
          for (const field of betaOnlySignInFields) delete copy[field];
          return copy;
        },
      };
    }
    if (path === 'auditLogs/directoryAudits') {
      return {
        reporting: true,
        sortBy: 'activityDateTime',
        filterable: new Set(['activityDateTime', 'activityDisplayName', 'category']),
        items: () => ds.directoryAudits,
      };
    }
    if (path === 'users') return { reporting: false, filterable: new Set(['id', 'userPrincipalName']), items: () => ds.users };
    if (path === 'directory/deletedItems/microsoft.graph.user')
      return { reporting: false, filterable: new Set(), items: () => ds.deletedUsers };
    if (path === 'groups')
      return { reporting: false, filterable: new Set(['id', 'displayName']), items: () => ds.groups.map(withoutMembers) };
    if (path === 'servicePrincipals') return { reporting: false, filterable: new Set(['appId', 'id']), items: () => ds.servicePrincipals };
    if (path === 'applications') return { reporting: false, filterable: new Set(['appId', 'id']), items: () => ds.applications };
    const members = /^groups\/([^/]+)\/(members|transitiveMembers)$/.exec(path);
    if (members) {
      const group = ds.groups.find((g) => g.id === members[1]);
      if (!group) return undefined;
      const ids = members[2] === 'members' ? group.members : transitiveMemberIds(group);
      return { reporting: false, filterable: new Set(), items: () => ids.map(byId).filter((o): o is GraphObject => o !== undefined) };
    }
    const assigned = /^servicePrincipals\/([^/]+)\/appRoleAssignedTo$/.exec(path);
    if (assigned) {
      if (!ds.servicePrincipals.some((s) => s.id === assigned[1])) return undefined;
      return { reporting: false, filterable: new Set(), items: () => ds.appRoleAssignments.filter((a) => a['resourceId'] === assigned[1]) };
    }
    return undefined;
  }

  function throttled(clientId: string): number | null {
    const limit = faults.throttle;
    if (!limit) return null;
    const key = `${tenantId}:${clientId}`;
    const now = Date.now();
    const log = (throttleLog.get(key) ?? []).filter((t) => t > now - limit.windowMs);
    throttleLog.set(key, log);
    if (log.length >= limit.requests) return log[0]! + limit.windowMs - now;
    log.push(now);
    return null;
  }

  function pickFault(hasSkipToken: boolean): FaultKind | null {
    const rate = faults.rate ?? 0;
    if (rate <= 0 || random() >= rate) return null;
    const kinds = (faults.kinds ?? ['429', '500', '502', '503', '504', 'reset', 'empty-page', 'bad-skip-token']).filter(
      (k) => k !== 'bad-skip-token' || hasSkipToken,
    );
    if (kinds.length === 0) return null;
    return kinds[Math.floor(random() * kinds.length)]!;
  }

  function scriptedFault(path: string, hasSkipToken: boolean): FaultKind | null {
    const script = faults.script ?? [];
    for (const [i, step] of script.entries()) {
      if (step.path !== undefined && !path.startsWith(step.path)) continue;
      if (step.continuation !== undefined && step.continuation !== hasSkipToken) continue;
      const seen = (scriptSeen[i] = (scriptSeen[i] ?? 0) + 1);
      const after = step.after ?? 0;
      if (seen > after && seen <= after + (step.times ?? 1)) return step.kind;
    }
    return null;
  }

  /** The scan-limit fault: how many records of the whole log the time clauses span. */
  function scanFault(spec: ListSpec, filter: string | null): FaultKind | null {
    const limit = faults.scanLimit;
    if (!limit || !spec.reporting || !spec.sortBy) return null;
    const field = spec.sortBy;
    const bound = (op: 'ge' | 'le') => {
      const match = new RegExp(`${field} ${op} (\\S+)`).exec(filter ?? '');
      return match ? Date.parse(match[1]!) : Number.NaN;
    };
    const from = bound('ge');
    const to = bound('le');
    let scanned = 0;
    for (const record of spec.items()) {
      const at = Date.parse(String(record[field]));
      if ((Number.isNaN(from) || at >= from) && (Number.isNaN(to) || at <= to)) scanned++;
    }
    return scanned > limit.records ? (limit.reply ?? '504') : null;
  }

  /** A page as sent, or cut: 'truncated-body' sends half the JSON with a matching
   *  content-length (a proxy that cut it), 'cut-body' announces the whole and drops the
   *  connection half-way. */
  function sendPage(res: ServerResponse, body: unknown, fault: FaultKind | null): void {
    if (fault !== 'truncated-body' && fault !== 'cut-body') return sendJson(res, 200, body);
    const text = Buffer.from(JSON.stringify(body));
    const half = text.subarray(0, Math.floor(text.length / 2));
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': fault === 'cut-body' ? text.length : half.length,
    });
    if (fault === 'truncated-body') return void res.end(half);
    res.write(half, () => res.socket?.destroy());
  }

  async function graph(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    stats.graphRequests++;
    const segments = url.pathname.split('/').filter(Boolean);
    const version = segments.shift() ?? '';
    const path = segments.map(decodeURIComponent).join('/');
    stats.byPath[`${version}/${path}`] = (stats.byPath[`${version}/${path}`] ?? 0) + 1;
    emulator.onRequest?.({ path, version, query: url.searchParams });

    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const session = bearer ? tokens.get(bearer) : undefined;
    if (!session || session.expires < Date.now()) {
      graphError(
        res,
        401,
        'InvalidAuthenticationToken',
        bearer ? 'Access token validation failure. Invalid audience.' : 'Access token is empty.',
      );
      return;
    }
    if (version !== 'v1.0' && version !== 'beta') {
      graphError(res, 400, 'BadRequest', `Invalid version: ${version}`);
      return;
    }
    if (version === 'beta' && faults.betaRefused) {
      graphError(res, 400, 'BadRequest', 'The beta endpoint is not available to this application.');
      return;
    }
    const forbidden = faults.forbidden;
    if (forbidden === true || (Array.isArray(forbidden) && forbidden.some((prefix) => path.startsWith(prefix)))) {
      graphError(res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
      return;
    }
    if (path === 'auditLogs/signIns' && faults.licence) {
      graphError(
        res,
        403,
        'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
        "Neither tenant is B2C or tenant doesn't have premium license",
      );
      return;
    }
    const spec = listSpec(path, version);
    if (!spec) {
      graphError(
        res,
        404,
        'Request_ResourceNotFound',
        `Resource '${path}' does not exist or one of its queried reference-property objects are not present.`,
      );
      return;
    }
    if (spec.reporting) {
      const wait = throttled(session.clientId);
      if (wait !== null) {
        stats.throttled++;
        graphError(res, 429, 'TooManyRequests', 'Too many requests.', { 'retry-after': (Math.max(wait, 1) / 1000).toFixed(3) });
        return;
      }
      stats.reportingRequests++;
      stats.reportingTimes.push(Date.now());
    }

    const skipText = url.searchParams.get('$skiptoken');
    const scripted = scriptedFault(path, skipText !== null);
    const fault = scripted ?? scanFault(spec, url.searchParams.get('$filter')) ?? pickFault(skipText !== null);
    if (fault) stats.faults[fault] = (stats.faults[fault] ?? 0) + 1;
    switch (fault) {
      case '429':
        graphError(res, 429, 'TooManyRequests', 'Too many requests.', { 'retry-after': String(faults.retryAfterSeconds ?? 0.05) });
        return;
      case '500':
      case '502':
      case '503':
      case '504':
        graphError(
          res,
          Number(fault),
          fault === '504' ? 'GatewayTimeout' : fault === '503' ? 'ServiceUnavailable' : 'UnknownError',
          'The service had a problem.',
        );
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'bad-skip-token':
        graphError(res, 400, 'Request_BadRequest', 'Invalid Skip Token.');
        return;
      case 'hang':
        await new Promise((resolve) => setTimeout(resolve, faults.hangMs ?? 2_000));
        break;
      default:
        break;
    }

    const select =
      url.searchParams
        .get('$select')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) ?? null;
    if (select?.includes('employeeLeaveDateTime') && faults.refuseLeaveDates) {
      graphError(res, 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
      return;
    }
    let predicate;
    try {
      predicate = compileFilter(url.searchParams.get('$filter'), spec.filterable);
    } catch (error) {
      if (error instanceof FilterError) {
        graphError(res, 400, 'BadRequest', error.message);
        return;
      }
      throw error;
    }
    const topText = url.searchParams.get('$top');
    const maxTop = spec.reporting ? 1000 : 999;
    const top = topText === null ? (spec.reporting ? logPageSize : directoryPageSize) : Number(topText);
    if (!Number.isInteger(top) || top < 1 || top > maxTop) {
      graphError(res, 400, 'BadRequest', `Invalid page size specified: '${topText}'. Must be between 1 and ${maxTop} inclusive.`);
      return;
    }
    // The token binds the query it belongs to: a token replayed on another query is refused.
    const queryKey = [version, path, url.searchParams.get('$filter') ?? '', select?.join(',') ?? '', top].join('|');
    const keyHash = createHash('sha256').update(queryKey).digest('base64url').slice(0, 22);
    let offset = 0;
    let emptyServed = false;
    if (skipText !== null) {
      let decoded: SkipToken | undefined;
      try {
        decoded = JSON.parse(Buffer.from(skipText, 'base64url').toString('utf8')) as SkipToken;
      } catch {
        decoded = undefined;
      }
      if (!decoded || decoded.k !== keyHash || !Number.isInteger(decoded.o) || decoded.o < 0) {
        graphError(res, 400, 'Request_BadRequest', 'Invalid Skip Token.');
        return;
      }
      offset = decoded.o;
      emptyServed = decoded.e === 1;
    }
    // Continuation pages reuse the result of their first page (the listing a skip token
    // points into); a first page always reads the dataset afresh.
    let items = skipText !== null ? resultCache.get(keyHash) : undefined;
    if (!items) {
      items = spec.items().filter(predicate);
      if (spec.sortBy) {
        const field = spec.sortBy;
        // Newest first, as the logs are served (spec §1.1); unparseable times sort last.
        const keyed = items.map((record) => ({ record, at: Date.parse(String(record[field])) || 0 }));
        keyed.sort((a, b) => b.at - a.at);
        items = keyed.map((k) => k.record);
      }
      resultCache.set(keyHash, items);
      if (resultCache.size > 32) resultCache.delete(resultCache.keys().next().value!);
    }
    const nextUrl = (o: number, e: boolean) => {
      const next = new URL(url.toString());
      next.protocol = 'https:';
      next.host = `localhost:${port}`;
      const tokenValue: SkipToken = { o, k: keyHash, ...(e ? { e: 1 as const } : {}) };
      next.searchParams.set('$skiptoken', Buffer.from(JSON.stringify(tokenValue)).toString('base64url'));
      return next.toString();
    };
    const context = `${base()}/${version}/$metadata#${path}`;
    // A random empty page is never followed by another (no endless runs of them); scripted
    // ones may come in a row, as they can from Graph.
    if (fault === 'empty-page' && (!emptyServed || scripted)) {
      // Graph may send an empty page that still has a nextLink (PR microsoft-graph-docs#21635).
      sendJson(res, 200, { '@odata.context': context, '@odata.nextLink': nextUrl(offset, true), value: [] });
      return;
    }
    const size = Math.min(top, options.maxPageSize ?? top);
    const page = items.slice(offset, offset + size).map((record) => project(spec.transform ? spec.transform(record) : record, select));
    const body: Record<string, unknown> = { '@odata.context': context };
    if (offset + size < items.length) body['@odata.nextLink'] = nextUrl(offset + size, false);
    body['value'] = page;
    sendPage(res, body, fault);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    const url = new URL(req.url ?? '/', base());
    if (await oidc.handle(req, res, url)) return;
    const openId = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
    if (openId && req.method === 'GET') return openIdConfiguration(res, openId[1]!);
    const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (tokenPath && req.method === 'POST') return token(req, res, tokenPath[1]!);
    if (/^\/(v1\.0|beta)\//.test(url.pathname) && req.method === 'GET') return graph(req, res, url);
    graphError(res, 404, 'NotFound', `No route for ${req.method} ${url.pathname}`);
  }

  const server: Server = createServer({ key, cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) graphError(res, 500, 'InternalServerError', `emulator failure: ${(error as Error).message}`);
      else res.destroy();
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return emulator;
}
