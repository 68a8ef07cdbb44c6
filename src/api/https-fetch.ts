// A fetch over node:https, for the two libraries that talk to Entra (openid-client for
// sign-in, jose for signing keys) and the console's Graph call. It exists for one
// reason: a trusted CA can be passed in (the demo's and tests' Entra emulator has its
// own); NODE_EXTRA_CA_CERTS works too, since node:https honours it. Redirects are not
// followed (the libraries ask for 'manual').
import { request } from 'node:https';

export type FetchLike = (
  url: string,
  init?: { method?: string; headers?: Record<string, string> | Headers; body?: unknown; signal?: AbortSignal | null },
) => Promise<Response>;

const TIMEOUT_MS = 15_000;

export function httpsFetch(ca?: string): FetchLike {
  return (url, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const target = new URL(url);
      if (target.protocol !== 'https:') {
        reject(new Error(`refusing a non-https request to ${target.host}`));
        return;
      }
      const headers: Record<string, string> = {};
      if (init.headers instanceof Headers) init.headers.forEach((value, name) => (headers[name] = value));
      else Object.assign(headers, init.headers ?? {});
      let body: Buffer | undefined;
      if (typeof init.body === 'string') body = Buffer.from(init.body, 'utf8');
      else if (init.body instanceof URLSearchParams) {
        body = Buffer.from(init.body.toString(), 'utf8');
        headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
      } else if (init.body instanceof Uint8Array) body = Buffer.from(init.body);
      else if (init.body !== undefined && init.body !== null) {
        reject(new Error('unsupported request body type'));
        return;
      }
      if (body) headers['content-length'] = String(body.length);
      const req = request(
        target,
        {
          method: init.method ?? 'GET',
          headers,
          ...(ca ? { ca } : {}),
          timeout: TIMEOUT_MS,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const responseHeaders = new Headers();
            for (const [name, value] of Object.entries(res.headers)) {
              if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
              else if (value !== undefined) responseHeaders.set(name, value);
            }
            const status = res.statusCode ?? 500;
            const payload = status === 204 || status === 304 ? null : Buffer.concat(chunks);
            resolve(new Response(payload, { status, headers: responseHeaders }));
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${target.host} within ${TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
}
