// The browser tests' world: the demo organisation (collected from the Entra emulator
// and a Metabase database, reports built) on a fresh Postgres database, served by the
// console with sign-in through the emulator, and a real headless Chromium.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

import type { ApiApp } from '../../src/api/app.js';
import { type DemoConsolePerson, serveDemoConsole } from '../../src/demo/console.js';
import { type DemoResult, runDemo } from '../../src/demo/run.js';
import type { EntraEmulator } from '../../src/emulators/entra/index.js';
import { createLogger } from '../../src/logger.js';
import type { Store } from '../../src/store/database.js';
import { createTestDatabase } from '../support/database.js';

export const CHROMIUM = '/usr/bin/chromium';
export const chromiumPresent = existsSync(CHROMIUM);
export const screenshotDir = path.resolve(import.meta.dirname, 'screenshots');

export interface ConsoleWorld {
  url: string;
  app: ApiApp;
  entra: EntraEmulator;
  store: Store;
  demo: DemoResult;
  people: DemoConsolePerson[];
  dataDir: string;
  browser: Browser;
  logText(): string;
  person(role: DemoConsolePerson['role']): DemoConsolePerson;
  close(): Promise<void>;
}

export async function startConsoleWorld(): Promise<ConsoleWorld> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-console-'));
  const database = await createTestDatabase('accesstrail_console');
  const chunks: string[] = [];
  const logger = createLogger({
    level: 'info',
    format: 'json',
    destination: new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk.toString('utf8'));
        callback();
      },
    }),
  });
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let ready!: (world: Omit<ConsoleWorld, 'browser' | 'close' | 'logText' | 'person' | 'dataDir'>) => void;
  const served = new Promise<Parameters<typeof ready>[0]>((resolve) => (ready = resolve));
  const demoRun = runDemo({
    dataDir,
    databaseUrl: database.url,
    logger,
    hold: async ({ result, entra, store }) => {
      const console = await serveDemoConsole({ demo: result, entra, store, logger, host: '127.0.0.1', port: 0 });
      ready({ url: console.publicUrl, app: console.app, entra, store, demo: result, people: console.people });
      await released;
      await console.app.close();
    },
  });
  const world = await Promise.race([served, demoRun.then(() => Promise.reject(new Error('the demo ended before serving')))]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking'],
  });
  return {
    ...world,
    dataDir: path.join(dataDir, 'demo'),
    browser,
    logText: () => chunks.join(''),
    person(role) {
      const found = world.people.find((p) => p.role === role);
      if (!found) throw new Error(`the demo has nobody with role ${role}`);
      return found;
    },
    async close() {
      await browser.close();
      release();
      await demoRun;
      await database.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A fresh browser profile (its own cookies); the emulator's certificate is self-signed. */
export function newContext(world: ConsoleWorld): Promise<BrowserContext> {
  return world.browser.newContext({
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
    baseURL: world.url,
    viewport: { width: 1280, height: 900 },
  });
}

/** Signs in through the console's button and the emulator's Entra page, as `person`. */
export async function signIn(page: Page, world: ConsoleWorld, person: DemoConsolePerson, start = '/'): Promise<void> {
  await page.goto(start);
  await page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' }).click();
  await page.waitForURL((url) => url.origin === world.entra.url);
  await page.locator(`button[data-upn="${person.upn}"]`).click();
  await page.waitForURL((url) => url.origin === world.url);
}
