// The demo's console: an app registration for the console in the Entra emulator, one
// person per console role (assigned as app roles, as the README recommends), one person
// with none (to see the refusal), and a GRC tool app with an app role on the API.
// Used by `accesstrail demo --serve` and the browser tests.
import { createServer } from 'node:net';

import type { ApiApp } from '../api/app.js';
import type { Config } from '../config.js';
import type { ConsoleRole } from '../console/session.repository.js';
import { buildWebApp } from '../console/web-app.js';
import { correlateFromConfig, DEFAULT_LOOKBACK_DAYS } from '../correlation/service.js';
import type { EntraEmulator } from '../emulators/entra/index.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/database.js';
import type { DemoResult } from './run.js';

export const DEMO_CONSOLE_CLIENT_ID = 'c0a50e00-0000-4000-8000-000000000011';
export const DEMO_CONSOLE_SECRET = 'demo-console-secret';
export const DEMO_API_APP_ID_URI = 'api://accesstrail-demo';
export const DEMO_GRC_CLIENT_ID = '9cc00001-0000-4000-8000-000000000021';
export const DEMO_GRC_SECRET = 'demo-grc-secret';

export interface DemoConsolePerson {
  role: ConsoleRole | 'none';
  displayName: string;
  upn: string;
  objectId: string;
}

const CAST: { role: ConsoleRole | 'none'; displayName: string }[] = [
  { role: 'admin', displayName: 'Frank Admin' },
  { role: 'reviewer', displayName: 'Peggy Carter' },
  { role: 'viewer', displayName: 'Liam Example0' },
  { role: 'none', displayName: 'Mallory Malicious' },
];

const APP_ROLE: Record<ConsoleRole, string> = { viewer: 'Console.Viewer', reviewer: 'Console.Reviewer', admin: 'Console.Admin' };

/** Registers the console and the GRC tool in the emulator; returns who signs in as what. */
export function registerDemoConsole(entra: EntraEmulator, publicUrl: string): DemoConsolePerson[] {
  const people: DemoConsolePerson[] = [];
  for (const member of CAST) {
    const user = entra.dataset.users.find((u) => u['displayName'] === member.displayName);
    if (!user?.id) continue;
    people.push({ role: member.role, displayName: member.displayName, upn: String(user['userPrincipalName']), objectId: user.id });
  }
  const userRoles: Record<string, string[]> = {};
  for (const person of people) if (person.role !== 'none') userRoles[person.objectId] = [APP_ROLE[person.role]];
  entra.oidc.registerApplication({
    clientId: DEMO_CONSOLE_CLIENT_ID,
    secret: DEMO_CONSOLE_SECRET,
    redirectUris: [`${publicUrl.replace(/\/+$/, '')}/auth/callback`],
    userRoles,
  });
  // The console's own client-credentials token (Graph, for the groups overage).
  if (!entra.dataset.clients.some((c) => c.clientId === DEMO_CONSOLE_CLIENT_ID))
    entra.dataset.clients.push({ clientId: DEMO_CONSOLE_CLIENT_ID, secret: DEMO_CONSOLE_SECRET });
  if (!entra.dataset.clients.some((c) => c.clientId === DEMO_GRC_CLIENT_ID))
    entra.dataset.clients.push({ clientId: DEMO_GRC_CLIENT_ID, secret: DEMO_GRC_SECRET });
  entra.oidc.registerApplication({
    clientId: '0a0a0a0a-0000-4000-8000-000000000031',
    identifierUri: DEMO_API_APP_ID_URI,
    clientRoles: { [DEMO_GRC_CLIENT_ID]: ['Reports.Read', 'Findings.Read'] },
  });
  return people;
}

/** The settings that turn the console on against the emulator. */
export function demoConsoleEnvironment(publicUrl: string): Record<string, string> {
  return {
    ACCESSTRAIL_UI_CLIENT_ID: DEMO_CONSOLE_CLIENT_ID,
    ACCESSTRAIL_UI_CLIENT_SECRET: DEMO_CONSOLE_SECRET,
    ACCESSTRAIL_PUBLIC_URL: publicUrl,
    ACCESSTRAIL_API_AUDIENCE: DEMO_API_APP_ID_URI,
  };
}

/** Serves the console and API on a demo's store, with sign-in through its Entra
 *  emulator: registers the apps, runs a current correlation (the demo's reports made
 *  their own), and listens. `port` 0 picks a free one (the redirect URI needs the port
 *  before the app is built, so it is probed first). */
export async function serveDemoConsole(input: {
  demo: DemoResult;
  entra: EntraEmulator;
  store: Store;
  logger: Logger;
  host: string;
  port: number;
  logLevel?: Config['ACCESSTRAIL_LOG_LEVEL'];
  now?: Date;
}): Promise<{ app: ApiApp; publicUrl: string; people: DemoConsolePerson[]; config: Config }> {
  const port = input.port === 0 ? await freePort(input.host) : input.port;
  const publicUrl = `http://${input.host.includes(':') ? `[${input.host}]` : input.host}:${port}`;
  const people = registerDemoConsole(input.entra, publicUrl);
  const config = Object.freeze({
    ...input.demo.config,
    ...demoConsoleEnvironment(publicUrl),
    ...(input.logLevel ? { ACCESSTRAIL_LOG_LEVEL: input.logLevel } : {}),
    HOST: input.host,
    PORT: port,
  }) as Config;
  const now = input.now ?? new Date();
  await correlateFromConfig(
    input.store.db,
    config,
    { from: new Date(now.getTime() - DEFAULT_LOOKBACK_DAYS * 86_400_000), to: now, asOf: now, purpose: 'current' },
    input.logger,
  );
  const app = await buildWebApp({ store: input.store, config, logger: input.logger, tlsCa: input.entra.caCertificatePem });
  await app.listen({ host: input.host, port, listenTextResolver: (address) => `accesstrail console and API listening on ${address}` });
  return { app, publicUrl, people, config };
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
