// Credential and Microsoft Graph client, wired as spec §5 describes: @azure/identity for
// tokens (secret, certificate, else DefaultAzureCredential), graph-client 3 for requests.
//
// The middleware chain is our own (Authentication → Telemetry → https transport) instead of
// the default one, for three reasons: the default RetryHandler retries only 429/503/504,
// waits up to 180 s per attempt and would retry beneath our pacer (we retry above it, see
// requester.ts); global fetch cannot be given an extra CA in-process (the emulator's), a
// node:https agent can; and the transport enforces a per-request timeout (large tenants
// see 300 s hangs on signIns, msgraph-sdk-powershell#3146).
import { Agent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

import type { TokenCredential } from '@azure/identity';
import { ClientCertificateCredential, ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import { AuthenticationHandler, Client, type Context, type Middleware, TelemetryHandler } from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';

import { type Config, requireSetting } from '../../config.js';

/** A failure below HTTP (reset, timeout, refused): the graph client wraps it in a
 *  GraphError whose `code` is this error's name. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
}

/** No answer within the request timeout: like a 504, a sign that the query is too wide
 *  (the log streams narrow their window), so it has a name of its own. */
export class RequestTimeout extends Error {
  override readonly name = 'RequestTimeout';
}

export interface GraphConnectionOptions {
  /** Extra CA certificate (PEM) to trust, beside the system ones (the emulator's). */
  tlsCa?: string;
  requestTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Hosts of Microsoft's own authorities (public and national clouds): instance
 *  discovery stays on for them; any other host (a local emulator) is trusted as given. */
const microsoftAuthorityHosts = [
  /(^|\.)login\.microsoftonline\.com$/i,
  /(^|\.)login\.microsoftonline\.us$/i,
  /(^|\.)login\.chinacloudapi\.cn$/i,
  /(^|\.)login\.microsoft\.com$/i,
  /(^|\.)microsoftonline\.de$/i,
];

export function isMicrosoftAuthority(authorityHost: string): boolean {
  const host = new URL(authorityHost).hostname;
  return microsoftAuthorityHosts.some((pattern) => pattern.test(host));
}

export function createCredential(config: Config, options: GraphConnectionOptions = {}): TokenCredential {
  const tenantId = requireSetting(config, 'AZURE_TENANT_ID', 'the Entra tenant to collect from');
  const authorityHost = config.AZURE_AUTHORITY_HOST;
  const common = {
    authorityHost,
    // Without this MSAL asks login.microsoftonline.com to validate a foreign authority,
    // which fails offline and for emulators (spec §5.3).
    disableInstanceDiscovery: !isMicrosoftAuthority(authorityHost),
    ...(options.tlsCa ? { tlsOptions: { ca: [...rootCertificates, options.tlsCa].join('\n') } } : {}),
  };
  if (config.AZURE_CLIENT_SECRET) {
    const clientId = requireSetting(config, 'AZURE_CLIENT_ID', 'the collector app registration that owns AZURE_CLIENT_SECRET');
    return new ClientSecretCredential(tenantId, clientId, config.AZURE_CLIENT_SECRET, common);
  }
  if (config.AZURE_CLIENT_CERTIFICATE_PATH) {
    const clientId = requireSetting(config, 'AZURE_CLIENT_ID', 'the collector app registration that owns AZURE_CLIENT_CERTIFICATE_PATH');
    return new ClientCertificateCredential(
      tenantId,
      clientId,
      {
        certificatePath: config.AZURE_CLIENT_CERTIFICATE_PATH,
        ...(config.AZURE_CLIENT_CERTIFICATE_PASSWORD ? { certificatePassword: config.AZURE_CLIENT_CERTIFICATE_PASSWORD } : {}),
      },
      common,
    );
  }
  return new DefaultAzureCredential({ ...common, tenantId });
}

/** Terminal middleware: one GET over node:https with keep-alive, a timeout and the
 *  caller's abort signal. */
function httpsTransport(agent: Agent, timeoutMs: number, signal: AbortSignal | undefined): Middleware {
  return {
    execute(context: Context): Promise<void> {
      const url = typeof context.request === 'string' ? context.request : context.request.url;
      const headers: Record<string, string> = {};
      const given = context.options?.headers;
      if (given instanceof Headers) given.forEach((value, key) => (headers[key] = value));
      else if (Array.isArray(given)) for (const pair of given as string[][]) headers[pair[0] ?? ''] = pair[1] ?? '';
      else if (given) Object.assign(headers, given);
      return new Promise((resolve, reject) => {
        const req = httpsRequest(
          url,
          { method: context.options?.method ?? 'GET', headers, agent, ...(signal ? { signal } : {}) },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('error', (error) => reject(new TransportError(`response interrupted: ${error.message}`)));
            res.on('end', () => {
              const status = res.statusCode ?? 0;
              const expected = Number(res.headers['content-length']);
              const received = chunks.reduce((n, chunk) => n + chunk.length, 0);
              if (Number.isFinite(expected) && received < expected) {
                reject(new TransportError(`response cut short: ${received} of ${expected} bytes`));
                return;
              }
              const responseHeaders = new Headers();
              for (const [key, value] of Object.entries(res.headers)) {
                if (value === undefined) continue;
                for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(key, v);
              }
              const body = status === 204 || status === 304 ? null : Buffer.concat(chunks);
              context.response = new Response(body, { status, headers: responseHeaders });
              resolve();
            });
          },
        );
        req.setTimeout(timeoutMs, () => req.destroy(new RequestTimeout(`no answer within ${timeoutMs} ms`)));
        req.on('error', (error: Error & { code?: string }) => {
          if (signal?.aborted) reject(signal.reason instanceof Error ? signal.reason : new Error('collection aborted'));
          else
            reject(
              error instanceof TransportError || error instanceof RequestTimeout
                ? error
                : new TransportError(`${error.code ?? 'connection error'}: ${error.message}`),
            );
        });
        req.end();
      });
    },
  };
}

export interface GraphConnection {
  readonly client: Client;
  /** Scheme + host (+ port) of Graph, e.g. https://graph.microsoft.com */
  readonly origin: string;
  close(): void;
}

export function createGraphConnection(config: Config, options: GraphConnectionOptions = {}): GraphConnection {
  const credential = createCredential(config, options);
  const graphUrl = new URL(config.GRAPH_BASE_URL);
  const provider = new TokenCredentialAuthenticationProvider(credential, { scopes: [`${graphUrl.origin}/.default`] });
  const agent = new Agent({ keepAlive: true, maxSockets: 4, ...(options.tlsCa ? { ca: [...rootCertificates, options.tlsCa] } : {}) });
  const client = Client.initWithMiddleware({
    middleware: [
      new AuthenticationHandler(provider),
      new TelemetryHandler(),
      httpsTransport(agent, options.requestTimeoutMs ?? 120_000, options.signal),
    ],
    baseUrl: `${graphUrl.origin}/`,
    defaultVersion: 'v1.0',
    // The bearer token is only attached for Graph hosts or these; the host goes in
    // WITHOUT its port, or the token is silently dropped (spec §5.3).
    customHosts: new Set([graphUrl.hostname]),
  });
  return { client, origin: graphUrl.origin, close: () => agent.destroy() };
}
