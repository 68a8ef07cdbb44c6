// Doctor output: one line per check for people, one JSON document for tools. Secrets are
// scrubbed from every string as a last guard (the checks never put one there).
import type { Config } from '../config.js';
import { type Check, type CheckArea, type CheckStatus, summarise } from './check.js';

const symbols: Record<CheckStatus, string> = { pass: '✓', fail: '✗', warn: '!', skip: '–' };
const areaTitles: Record<CheckArea, string> = { entra: 'Entra ID', metabase: 'Metabase', store: 'Evidence store' };

/** The configured secret values, longest first, so none is printed even by accident. */
export function secretValues(config: Config): string[] {
  const values = [
    config.AZURE_CLIENT_SECRET,
    config.AZURE_CLIENT_CERTIFICATE_PASSWORD,
    config.METABASE_API_KEY,
    config.ACCESSTRAIL_API_KEYS_BOOTSTRAP,
  ];
  for (const url of [config.DATABASE_URL, config.METABASE_DB_URL]) {
    if (!url) continue;
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password) values.push(password, new URL(url).password);
    } catch {
      // An unparseable URL was refused by the config schema already.
    }
  }
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length >= 4))].sort((a, b) => b.length - a.length);
}

export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join('***');
  return out;
}

export function scrubChecks(checks: readonly Check[], secrets: readonly string[]): Check[] {
  return checks.map((c) => ({
    ...c,
    name: scrub(c.name, secrets),
    detail: scrub(c.detail, secrets),
    ...(c.fix ? { fix: scrub(c.fix, secrets) } : {}),
  }));
}

export function renderText(checks: readonly Check[]): string {
  const lines: string[] = [];
  let area: CheckArea | undefined;
  for (const check of checks) {
    if (check.area !== area) {
      area = check.area;
      if (lines.length) lines.push('');
      lines.push(areaTitles[area]);
    }
    const fix = check.fix && (check.status === 'fail' || check.status === 'warn') ? ` → fix: ${check.fix}` : '';
    lines.push(`  ${symbols[check.status]} ${check.name}: ${check.detail}${fix}`);
  }
  const s = summarise(checks);
  lines.push('');
  lines.push(
    `${s.ok ? 'all required checks pass' : `${s.failed} required check${s.failed === 1 ? '' : 's'} failed`}: ${s.passed} passed, ${s.warnings} warning${s.warnings === 1 ? '' : 's'}, ${s.skipped} not evaluable`,
  );
  return `${lines.join('\n')}\n`;
}

export function renderJson(checks: readonly Check[], checkedAt: Date): string {
  return `${JSON.stringify({ checkedAt: checkedAt.toISOString(), ...summarise(checks), checks }, null, 2)}\n`;
}
