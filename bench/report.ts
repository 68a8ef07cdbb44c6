// Report rendering at scale: seconds and peak RSS for the JSON and the PDF of a report
// over N accounts and M events (the synthetic model: accounts as populations, events
// summarised into statistics and findings), at two sizes, to show that the PDF's memory
// stays flat while its page count grows. The model's populations and findings are kept
// on disk as they are made (RowSpool) and read back in pages, as a report of that size
// must be: the JSON's seconds are then the copy of rows serialised once when spooled
// (counted in the model's seconds). Each measurement runs in its own process so its
// peak RSS is its own (node 39 MB + tsx 36 MB + pdfkit and the code 29 MB before any
// model: docs/scale.md, Reports/PDF). The PDF's reference, in the same run: a PDF of the same
// number of pages without rendering anything on them (pdfkit's own cost per page).
// bench/report-from-store.ts builds a report from a real store instead.
//   npx tsx bench/report.ts            (5,000 / 250,000 and 20,000 / 1,000,000)
//   npx tsx bench/report.ts 20000 1000000
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

import PDFDocument from 'pdfkit';

import { type ReportFormat, writeReportArtefacts } from '../src/reports/write.js';
import { closeSampleSpools, sampleReportModel } from '../test/support/sample-model.js';
import { type Benchmark, type BenchRow, isMain } from './lib/harness.js';

interface Measurement {
  accounts: number;
  events: number;
  format: ReportFormat;
  modelSeconds: number;
  renderSeconds: number;
  bytes: number;
  pages: number | null;
  peakRssMb: number;
  /** Seconds to write a PDF of the same page count with nothing rendered on the pages. */
  blankPagesSeconds: number | null;
}

/** pdfkit writing `pages` empty A4 pages to a sink: the floor under the PDF renderer. */
async function blankPages(pages: number): Promise<number> {
  const started = performance.now();
  const doc = new PDFDocument({ size: 'A4', autoFirstPage: false, compress: true });
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  const done = new Promise<void>((resolve) => sink.on('finish', resolve));
  doc.pipe(sink);
  for (let i = 0; i < pages; i++) doc.addPage();
  doc.end();
  await done;
  return (performance.now() - started) / 1000;
}

async function measureOne(accounts: number, events: number, format: ReportFormat): Promise<Measurement> {
  const started = performance.now();
  // The populations go to disk as they are made (RowSpool) and are read back in pages by
  // every renderer: the process never holds them, however many accounts there are.
  const model = sampleReportModel({ accounts, events, seed: 42, spool: true });
  const modelSeconds = (performance.now() - started) / 1000;
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-report-'));
  const renderStart = performance.now();
  const result = await writeReportArtefacts({ model, formats: [format], outDir: dir, dataDir: dir });
  const renderSeconds = (performance.now() - renderStart) / 1000;
  const file = result.files[0]!;
  let pages: number | null = null;
  if (format === 'pdf') {
    // Page objects are not compressed by pdfkit: count them (pdfinfo is not always installed).
    pages = (readFileSync(file.path, 'latin1').match(/\/Type \/Page\b(?!s)/g) ?? []).length;
  }
  const bytes = statSync(file.path).size;
  rmSync(dir, { recursive: true, force: true });
  closeSampleSpools(model);
  // maxRSS is in kilobytes; read before the reference so it is the renderer's own.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const blankPagesSeconds = pages !== null && Number.isFinite(pages) ? await blankPages(pages) : null;
  return { accounts, events, format, modelSeconds, renderSeconds, bytes, pages, peakRssMb, blankPagesSeconds };
}

function measureInChild(accounts: number, events: number, format: ReportFormat): Measurement {
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', String(accounts), String(events), format],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (child.status !== 0) throw new Error(`report bench failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measurement;
}

const SIZES = { quick: [1_000, 50_000], '10k': [10_000, 500_000], '100k': [100_000, 5_000_000] } as const;

export const benchmark: Benchmark = {
  name: 'report',
  description: 'JSON and PDF of a synthetic model of N accounts; the PDF against the same pages without rendering',
  sizes: ['quick', '10k', '100k'],
  async run({ size }) {
    const [accounts, events] = SIZES[size as keyof typeof SIZES];
    const rows: BenchRow[] = [];
    for (const format of ['json', 'pdf'] as const) {
      const m = measureInChild(accounts, events, format);
      rows.push({
        stage: `report render (${format})`,
        size: `${accounts.toLocaleString('en')} accounts`,
        throughput: { value: accounts / m.renderSeconds, unit: 'accounts/s' },
        seconds: m.renderSeconds,
        peakRssMb: m.peakRssMb,
        reference: m.blankPagesSeconds === null ? null : { name: `${m.pages} blank pages`, seconds: m.blankPagesSeconds },
        note: `${(m.bytes / 1e6).toFixed(1)} MB${m.pages ? `, ${m.pages} pages` : ''}${format === 'pdf' ? (m.peakRssMb < 200 ? '; peak < 200 MB' : '; peak ≥ 200 MB (aim < 200)') : ''}`,
      });
    }
    return rows;
  },
};

const args = process.argv.slice(2);
if (!isMain(import.meta.url)) {
  // imported by the runner: nothing runs at import
} else if (args[0] === '--one') {
  const [, accounts, events, format] = args;
  const measurement = await measureOne(Number(accounts), Number(events), format as ReportFormat);
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
} else {
  const sizes: [number, number][] =
    args.length >= 2
      ? [[Number(args[0]), Number(args[1])]]
      : [
          [5_000, 250_000],
          [20_000, 1_000_000],
        ];
  const self = fileURLToPath(import.meta.url);
  const rows: Measurement[] = [];
  for (const [accounts, events] of sizes) {
    for (const format of ['json', 'pdf'] as const) {
      const child = spawnSync(process.execPath, ['--import', 'tsx', self, '--one', String(accounts), String(events), format], {
        encoding: 'utf8',
        maxBuffer: 1 << 20,
      });
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
