// The service's request log: one line per request, and never a credential from a URL.
// The console's sign-in callback arrives as /auth/callback?code=…&state=… (Entra's
// authorization response, response_mode=query: RFC 6749 4.1.2), and Fastify's own
// request lines logged that URL whole.
import { Writable } from 'node:stream';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type ApiApp, loggedUrl } from '../../src/api/app.js';
import { parseConfig } from '../../src/config.js';
import { buildWebApp } from '../../src/console/web-app.js';
import { createLogger } from '../../src/logger.js';
import { openStore, type Store } from '../../src/store/database.js';

describe('request log', () => {
  const lines: string[] = [];
  let store: Store;
  let app: ApiApp;
  beforeAll(async () => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        callback();
      },
    });
    store = await openStore({ dataDir: 'memory://' });
    app = await buildWebApp({
      store,
      config: parseConfig({ AZURE_TENANT_ID: '11111111-1111-4111-8111-111111111111', AZURE_CLIENT_ID: 'client' }, '/tmp'),
      logger: createLogger({ level: 'debug', destination, format: 'json' }),
    });
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
  });

  it('writes one completed line per request with method, URL and status, and never the authorization code', async () => {
    const code = 'M.C507_SN1.2.U.0123456789abcdefSECRETCODE';
    lines.length = 0;
    await app.inject({ method: 'GET', url: `/auth/callback?code=${code}&state=st4te-value&session_state=abc` });
    await app.inject({ method: 'GET', url: '/v1/findings?limit=5&rule=sso-bypass' });
    const text = lines.join('\n');
    expect(text).not.toContain('SECRETCODE');
    expect(text).not.toContain('st4te-value');
    type Entry = { msg: string; req: { method: string; url: string; remoteAddress?: string }; res: { statusCode: number } };
    const completed = lines.map((line) => JSON.parse(line) as Entry).filter((entry) => entry.msg === 'request completed');
    expect(completed.map((entry) => [entry.req.method, entry.req.url, entry.res.statusCode])).toEqual([
      ['GET', '/auth/callback?code=[redacted]&state=[redacted]&session_state=[redacted]', expect.any(Number)],
      ['GET', '/v1/findings?limit=5&rule=sso-bypass', 401],
    ]);
    expect(completed.every((entry) => entry.req.remoteAddress === '127.0.0.1')).toBe(true);
    // At debug, the incoming line too, without the code.
    expect(lines.filter((line) => line.includes('"incoming request"'))).toHaveLength(2);
  });

  it.each([
    ['/a', '/a'],
    ['/a?x=1&code=abc', '/a?x=1&code=[redacted]'],
    ['/a?CODE=abc', '/a?CODE=[redacted]'],
    ['/a?c%6Fde=abc', '/a?c%6Fde=[redacted]'],
    ['/a?access_token=t&id_token=u&cursor=v', '/a?access_token=[redacted]&id_token=[redacted]&cursor=v'],
    ['/a?code', '/a?code'],
    ['/a?%zz=1&code=2', '/a?%zz=1&code=[redacted]'],
  ])('loggedUrl(%s) = %s', (url, expected) => {
    expect(loggedUrl(url)).toBe(expected);
  });
});
