// Report rendering at scale: seconds and peak RSS for the JSON and the PDF of a report
// over N accounts and M events (the synthetic model: accounts as populations, events
// summarised into statistics and findings), at two sizes, to show that the PDF's memory
// stays flat while its page count grows. Each measurement runs in its own process so
// its peak RSS is its own.
//   npx tsx bench/report.ts            (5,000 / 250,000 and 20,000 / 1,000,000)
//   npx tsx bench/report.ts 20000 1000000
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sampleReportModel } from '../test/support/sample-model.js';
import { writeReportArtefacts, type ReportFormat } from '../src/reports/write.js';

interface Measurement {
  accounts: number;
  events: number;
  format: ReportFormat;
  modelSeconds: number;
  renderSeconds: number;
  bytes: number;
  pages: number | null;
  peakRssMb: number;
}

async function measureOne(accounts: number, events: number, format: ReportFormat): Promise<Measurement> {
  const started = performance.now();
  const model = sampleReportModel({ accounts, events, seed: 42 });
  const modelSeconds = (performance.now() - started) / 1000;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-report-'));
  const renderStart = performance.now();
  const result = await writeReportArtefacts({ model, formats: [format], outDir: dir, dataDir: dir });
  const renderSeconds = (performance.now() - renderStart) / 1000;
  const file = result.files[0]!;
  let pages: number | null = null;
  if (format === 'pdf') {
    const info = spawnSync('pdfinfo', [file.path]);
    pages = Number(/Pages:\s+(\d+)/.exec(info.stdout?.toString() ?? '')?.[1] ?? Number.NaN);
  }
  const bytes = statSync(file.path).size;
  rmSync(dir, { recursive: true, force: true });
  // maxRSS is in kilobytes.
  return { accounts, events, format, modelSeconds, renderSeconds, bytes, pages, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

const args = process.argv.slice(2);
if (args[0] === '--one') {
  const [, accounts, events, format] = args;
  const measurement = await measureOne(Number(accounts), Number(events), format as ReportFormat);
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
} else {
  const sizes: [number, number][] = args.length >= 2 ? [[Number(args[0]), Number(args[1])]] : [
    [5_000, 250_000],
    [20_000, 1_000_000],
  ];
  const self = fileURLToPath(import.meta.url);
  const rows: Measurement[] = [];
  for (const [accounts, events] of sizes) {
    for (const format of ['json', 'pdf'] as const) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--one', String(accounts), String(events), format], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (child.status !== 0) {
        process.stderr.write(child.stderr);
        process.exit(1);
      }
      rows.push(JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measurement);
    }
  }
  process.stdout.write('accounts   events     format  model s  render s  size MB  pages  peak RSS MB\n');
  for (const row of rows) {
    process.stdout.write(
      `${String(row.accounts).padEnd(10)} ${String(row.events).padEnd(10)} ${row.format.padEnd(7)} ${row.modelSeconds.toFixed(2).padStart(7)}  ${row.renderSeconds.toFixed(2).padStart(8)}  ${(row.bytes / 1e6).toFixed(1).padStart(7)}  ${String(row.pages ?? '-').padStart(5)}  ${row.peakRssMb.toFixed(0).padStart(11)}\n`,
    );
  }
}
