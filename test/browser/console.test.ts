// The web console in a real headless Chromium (Debian's chromium, driven by
// playwright-core), against the demo organisation on Postgres with sign-in through the
// Entra emulator's own sign-in page. Skipped, with a message, only when Chromium is not
// installed at /usr/bin/chromium (.ci/run installs it).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadTrustedPublicKeys } from '../../src/reports/signing.js';
import { verifyReportFile } from '../../src/reports/verify-files.js';
import { chromiumPresent, type ConsoleWorld, newContext, screenshotDir, signIn, startConsoleWorld } from './fixture.js';
import { pngStats } from './png.js';

if (!chromiumPresent) {
  console.warn('browser tests skipped: Chromium is not installed at /usr/bin/chromium (apt-get install chromium; .ci/run does it)');
}

const axeSource = readFileSync(path.resolve('node_modules/axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

describe.skipIf(!chromiumPresent)('the web console in Chromium', () => {
  let world: ConsoleWorld;
  let reviewer: BrowserContext;
  let page: Page;
  const shots: string[] = [];
  const axeFindings: { page: string; violations: AxeViolation[] }[] = [];

  async function shoot(name: string, target: Page = page): Promise<void> {
    mkdirSync(screenshotDir, { recursive: true });
    const file = path.join(screenshotDir, `${name}.png`);
    await target.screenshot({ path: file, fullPage: true });
    shots.push(file);
  }

  /** axe-core in the page (evaluated through the DevTools protocol, so the CSP that
   *  forbids every script on the console does not have to be relaxed for the test). */
  async function axe(name: string, target: Page = page): Promise<AxeViolation[]> {
    await target.evaluate(axeSource);
    const violations = (await target.evaluate(async () => {
      const result = await (
        globalThis as unknown as { axe: { run: (context: unknown, options: unknown) => Promise<{ violations: unknown[] }> } }
      ).axe.run((globalThis as unknown as { document: unknown }).document, { resultTypes: ['violations'] });
      return result.violations;
    })) as AxeViolation[];
    axeFindings.push({ page: name, violations });
    return violations;
  }

  beforeAll(async () => {
    rmSync(screenshotDir, { recursive: true, force: true });
    world = await startConsoleWorld();
    reviewer = await newContext(world);
    page = await reviewer.newPage();
  }, 300_000);

  afterAll(async () => {
    if (shots.length) console.info(`screenshots: ${screenshotDir} (${shots.length} pages)`);
    await reviewer?.close();
    await world?.close();
  }, 120_000);

  it('redirects every page to sign-in without a session', async () => {
    for (const target of [
      '/',
      '/reports',
      '/findings',
      '/findings/some-finding',
      '/people/someone',
      '/coverage',
      '/collections',
      '/reports/x/pdf',
    ]) {
      const response = await fetch(`${world.url}${target}`, { redirect: 'manual' });
      expect(response.status, target).toBe(303);
      expect(response.headers.get('location'), target).toBe(`/sign-in?returnTo=${encodeURIComponent(target)}`);
    }
    // A form post without a session is not carried out either.
    const post = await fetch(`${world.url}/reports`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'framework=soc2&period=2026-Q1',
    });
    expect(post.status).toBe(303);
    expect(post.headers.get('location')).toMatch(/^\/sign-in/);
    // In the browser: the page lands on the sign-in page.
    await page.goto('/findings?rule=sso-bypass');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    await shoot('sign-in');
    expect((await axe('sign-in')).filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
  });

  it('signs in through the Entra emulator and shows the overview', async () => {
    const person = world.person('reviewer');
    await page.goto('/');
    await page.getByRole('link', { name: 'Sign in with Microsoft Entra ID' }).click();
    await page.waitForURL((url) => url.origin === world.entra.url);
    await shoot('entra-emulator-sign-in');
    await page.locator(`button[data-upn="${person.upn}"]`).click();
    await page.waitForURL(`${world.url}/`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Overview');
    expect(await page.locator('.who').textContent()).toContain(`${person.displayName} · reviewer`);
    // The session cookie: HttpOnly, SameSite=Lax (Secure only behind https; this is http).
    const cookie = (await reviewer.cookies()).find((c) => c.name === 'accesstrail-session');
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    // Controls with their status from the signed report, findings by rule, sources.
    const controls = page.getByRole('table', { name: 'SOC 2 controls' });
    expect(await controls.locator('tbody tr').count()).toBeGreaterThan(3);
    expect(await page.getByRole('table', { name: 'Findings by rule and severity' }).locator('tbody tr').count()).toBeGreaterThan(3);
    expect(await page.locator('figure.chart svg[role="img"]').count()).toBe(1);
    expect(
      await page
        .getByRole('table', { name: /Each source and stream/ })
        .locator('tbody tr')
        .count(),
    ).toBeGreaterThan(2);
    expect(await page.locator('main').textContent()).toContain('verified');
    await shoot('overview');
    await page.goto('/?framework=iso27001');
    expect(await page.getByRole('table', { name: 'ISO 27001 controls' }).locator('tbody tr').count()).toBeGreaterThan(3);
    await shoot('overview-iso27001');
  });

  it('sends the security headers', async () => {
    const response = await page.goto('/');
    const headers = response!.headers();
    expect(headers['content-security-policy']).toContain("script-src 'none'");
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(headers['cache-control']).toBe('no-store');
  });

  it('downloads a PDF that verifies against the signed manifest', async () => {
    await page.goto('/reports');
    const first = page.locator('tbody tr').first();
    expect(await first.textContent()).toContain('verified');
    const folder = mkdtempSync(path.join(tmpdir(), 'accesstrail-download-'));
    try {
      const [pdf] = await Promise.all([page.waitForEvent('download'), first.getByRole('link', { name: 'PDF' }).click()]);
      const pdfPath = path.join(folder, pdf.suggestedFilename());
      await pdf.saveAs(pdfPath);
      expect(readFileSync(pdfPath).subarray(0, 5).toString()).toBe('%PDF-');
      const [manifest] = await Promise.all([page.waitForEvent('download'), first.getByRole('link', { name: 'signed manifest' }).click()]);
      await manifest.saveAs(path.join(folder, manifest.suggestedFilename()));
      const keys = loadTrustedPublicKeys(world.dataDir);
      const result = await verifyReportFile(pdfPath, keys);
      expect(result.reasons).toEqual([]);
      expect(result.ok).toBe(true);
      // A changed byte is caught: the check is real.
      const bytes = readFileSync(pdfPath);
      bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 1;
      writeFileSync(pdfPath, bytes);
      expect((await verifyReportFile(pdfPath, keys)).ok).toBe(false);
      const [json] = await Promise.all([page.waitForEvent('download'), first.getByRole('link', { name: 'JSON' }).click()]);
      const jsonPath = path.join(folder, json.suggestedFilename());
      await json.saveAs(jsonPath);
      expect((await verifyReportFile(jsonPath, keys)).ok).toBe(true);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    await shoot('reports');
  });

  it('builds a report for a chosen period (reviewer)', async () => {
    const before = await world.store.db.selectFrom('report').select('id').execute();
    await page.goto('/reports');
    const form = page.locator('form[action="/reports"][method="post"]').last();
    await form.getByLabel('Framework').selectOption('iso27001');
    const to = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
    await form.getByLabel('Quarter').fill('');
    await form.getByLabel('From (date)').fill(from);
    await form.getByLabel('To (date, exclusive)').fill(to);
    await form.getByRole('button', { name: 'Build, sign and store' }).click();
    await page.waitForURL(/\/reports\?built=/);
    const after = await world.store.db.selectFrom('report').select('id').execute();
    expect(after.length).toBe(before.length + 1);
    const built = new URL(page.url()).searchParams.get('built')!;
    expect(await page.getByRole('status').textContent()).toContain(built);
    expect(await page.locator('tbody tr', { hasText: built }).textContent()).toContain('verified');
  });

  it('filters findings and opens a finding down to its verbatim upstream records', async () => {
    await page.goto('/findings');
    const all = await page.locator('tbody tr').count();
    expect(all).toBeGreaterThan(5);
    await page.getByLabel('Rule').selectOption('sso-bypass');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/rule=sso-bypass/);
    const rows = page.locator('tbody tr');
    const count = await rows.count();
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThan(all);
    for (let i = 0; i < count; i++) expect(await rows.nth(i).locator('td').nth(1).textContent()).toBe('sso-bypass');
    await shoot('findings');
    // Severity and period filters narrow as well.
    await page.goto('/findings?severity=high');
    const high = page.locator('tbody tr');
    for (let i = 0; i < (await high.count()); i++) expect(await high.nth(i).locator('td').nth(2).textContent()).toBe('high');
    await page.goto('/findings?from=2099-01-01');
    expect(await page.locator('main').textContent()).toContain('No findings match these filters.');
    // A bad filter says what is wrong.
    const bad = await page.goto('/findings?severity=urgent');
    expect(bad!.status()).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain('severity');

    await page.goto('/findings?rule=sso-bypass');
    await page.locator('tbody tr').first().locator('td').first().getByRole('link').click();
    await page.waitForURL(/\/findings\/sso-bypass-/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^Finding sso-bypass-/);
    const raw = page.locator('pre.raw').nth(1);
    const record = JSON.parse((await raw.textContent())!) as Record<string, unknown>;
    // The evidence heading names the upstream id; the verbatim record carries it.
    const heading = (await page.locator('section h3').first().textContent())!;
    expect(heading).toContain('metabase-login');
    expect(Object.keys(record).length).toBeGreaterThan(2);
    expect(heading).toContain(String(record['id']));
    await shoot('finding');
  });

  it("shows a person's linked accounts, terminated intervals and activity timeline", async () => {
    await page.goto('/findings?rule=access-after-termination');
    await page.locator('tbody tr').first().locator('td').nth(3).getByRole('link').click();
    await page.waitForURL(/\/people\//);
    const accounts = page.getByRole('table', { name: /Metabase accounts linked/ }).locator('tbody tr');
    expect(await accounts.count()).toBeGreaterThan(0);
    // Source, account, e-mail, active, link status, how linked, matched value.
    const [source, account, , active, status, method] = (await accounts.first().locator('td').allTextContents()).map((t) => t.trim());
    expect(source).toMatch(/^metabase:/);
    expect(account).toMatch(/^\d+$/);
    expect(['yes', 'no', 'unknown']).toContain(active);
    expect(status).toBe('linked');
    expect(method).not.toBe('');
    expect(
      await page
        .getByRole('table', { name: /When the person counted as terminated/ })
        .locator('tbody tr')
        .count(),
    ).toBeGreaterThan(0);
    expect(await page.locator('figure.chart svg line').count()).toBeGreaterThan(5);
    await shoot('person');
  });

  it('shows coverage and collections; a reviewer cannot start a collection', async () => {
    await page.goto('/coverage');
    expect(await page.locator('figure.chart svg rect').count()).toBeGreaterThan(3);
    await shoot('coverage');
    await page.goto('/collections');
    expect(await page.locator('tbody tr').first().textContent()).toContain('succeeded');
    expect(await page.getByRole('button', { name: 'Start collecting' }).count()).toBe(0);
    await shoot('collections');
    const csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value');
    const refused = await reviewer.request.post('/collections', { form: { _csrf: csrf!, source: 'all' }, maxRedirects: 0 });
    expect(refused.status()).toBe(403);
  });

  it('refuses a form post with a forged CSRF token', async () => {
    const before = await world.store.db.selectFrom('report').select('id').execute();
    const forged = await reviewer.request.post('/reports', {
      form: { _csrf: 'forged-token-forged-token-forged-token-abc', framework: 'soc2', period: '2026-Q1' },
      maxRedirects: 0,
    });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('security token');
    const missing = await reviewer.request.post('/reports', { form: { framework: 'soc2', period: '2026-Q1' }, maxRedirects: 0 });
    expect(missing.status()).toBe(403);
    // Another session's token is no better than a forged one.
    const other = await newContext(world);
    try {
      const otherPage = await other.newPage();
      await signIn(otherPage, world, world.person('admin'));
      const foreign = await otherPage.locator('input[name="_csrf"]').first().getAttribute('value');
      const crossed = await reviewer.request.post('/reports', {
        form: { _csrf: foreign!, framework: 'soc2', period: '2026-Q1' },
        maxRedirects: 0,
      });
      expect(crossed.status()).toBe(403);
    } finally {
      await other.close();
    }
    expect((await world.store.db.selectFrom('report').select('id').execute()).length).toBe(before.length);
  });

  it('lets a viewer read but not build a report', async () => {
    const context = await newContext(world);
    try {
      const viewerPage = await context.newPage();
      await signIn(viewerPage, world, world.person('viewer'), '/reports');
      expect(new URL(viewerPage.url()).pathname).toBe('/reports');
      expect(await viewerPage.getByRole('button', { name: 'Build, sign and store' }).count()).toBe(0);
      expect(await viewerPage.locator('main').textContent()).toContain('needs the reviewer or admin role');
      // Even with the viewer's own valid CSRF token, the server refuses.
      const csrf = await viewerPage.locator('input[name="_csrf"]').first().getAttribute('value');
      const before = (await world.store.db.selectFrom('report').select('id').execute()).length;
      const response = await context.request.post('/reports', {
        form: { _csrf: csrf!, framework: 'soc2', period: '2026-Q1' },
        maxRedirects: 0,
      });
      expect(response.status()).toBe(403);
      expect(await response.text()).toContain('needs the reviewer role');
      expect((await world.store.db.selectFrom('report').select('id').execute()).length).toBe(before);
      await viewerPage.goto('/reports');
      await shoot('reports-viewer', viewerPage);
    } finally {
      await context.close();
    }
  });

  it('turns away someone without a mapped role, and says why', async () => {
    const context = await newContext(world);
    try {
      const nobody = await context.newPage();
      await signIn(nobody, world, world.person('none'));
      expect(await nobody.getByRole('heading', { level: 1 }).textContent()).toBe('No access to the console');
      expect(await nobody.getByRole('alert').textContent()).toContain('none of your app roles or groups is mapped');
      expect(await nobody.locator('main').textContent()).toContain('Console.Viewer');
      expect((await context.cookies()).some((c) => c.name === 'accesstrail-session')).toBe(false);
      await shoot('no-role', nobody);
      expect((await axe('no-role', nobody)).filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
      await nobody.goto('/');
      expect(new URL(nobody.url()).pathname).toBe('/sign-in');
    } finally {
      await context.close();
    }
  });

  it('has no serious or critical accessibility violation on any page (axe-core)', async () => {
    const finding = await page
      .goto('/findings?rule=sso-bypass')
      .then(() => page.locator('tbody tr').first().locator('td').first().getByRole('link').getAttribute('href'));
    const person = await page
      .goto('/findings?rule=access-after-termination')
      .then(() => page.locator('tbody tr').first().locator('td').nth(3).getByRole('link').getAttribute('href'));
    for (const target of ['/', '/?framework=iso27001', '/reports', '/findings', finding!, person!, '/coverage', '/collections']) {
      await page.goto(target);
      const violations = await axe(target);
      const serious = violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
      expect(serious, target).toEqual([]);
    }
    // The scan ran: axe reports the pages it saw.
    expect(axeFindings.length).toBeGreaterThanOrEqual(9);
  });

  it('signs out: the session ends on the server', async () => {
    await page.goto('/');
    const cookie = (await reviewer.cookies()).find((c) => c.name === 'accesstrail-session')!;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${world.url}/signed-out`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Signed out');
    await shoot('signed-out');
    await page.goto('/reports');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    // The old cookie value no longer opens anything.
    const replay = await fetch(`${world.url}/`, { redirect: 'manual', headers: { cookie: `accesstrail-session=${cookie.value}` } });
    expect(replay.status).toBe(303);
    // Sessions are stored hashed: the cookie value is nowhere in the table.
    const rows = await world.store.db
      .withTables<{ console_session: { id_sha256: string } }>()
      .selectFrom('console_session')
      .select('id_sha256')
      .execute();
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.some((r) => r.id_sha256 === cookie.value)).toBe(false);
    // Cookies and tokens never reach the log.
    expect(world.logText()).not.toContain(cookie.value);
  });

  it('saved a screenshot of every page, none of them blank', () => {
    const files = readdirSync(screenshotDir).filter((f) => f.endsWith('.png'));
    for (const name of [
      'sign-in',
      'entra-emulator-sign-in',
      'overview',
      'reports',
      'findings',
      'finding',
      'person',
      'coverage',
      'collections',
      'reports-viewer',
      'no-role',
      'signed-out',
    ]) {
      expect(files).toContain(`${name}.png`);
    }
    for (const file of files) {
      const stats = pngStats(readFileSync(path.join(screenshotDir, file)));
      expect(stats.width, file).toBe(1280);
      expect(stats.height, file).toBeGreaterThan(200);
      // A blank page is one colour; a rendered one has text, rules and badges.
      expect(stats.colours, file).toBeGreaterThan(8);
      expect(stats.luminanceSd, file).toBeGreaterThan(5);
    }
  });
});
