// The whole web service: the /v1 API (src/api/app.ts) with the console for people mounted
// at / on the same Fastify instance. `serve` and `demo --serve` build this; the API tests
// build the API alone. Composing here keeps the arrow one way: the console uses the API's
// pieces (route context, pagination, finding shape), the API knows nothing of the console.
import { type ApiApp, type ApiDependencies, buildApp } from '../api/app.js';
import { consolePlugin } from './plugin.js';

export async function buildWebApp(deps: ApiDependencies): Promise<ApiApp> {
  const app = await buildApp(deps);
  await app.register(consolePlugin, { context: app.routeContext, ...(deps.tlsCa ? { tlsCa: deps.tlsCa } : {}) });
  return app;
}
