// Reports built from a real store (issue 13): the correlation benchmark's generated
// store (bench/lib/correlation-store.ts; at 1m, 20,000 accounts and 1,000,000 sign-ins),
// then
//  1. in process: the report's correlation and model, with every population query run
//     under EXPLAIN (ANALYZE, BUFFERS) inside the report's own transaction (where its
//     temporary state tables exist); the plans go to bench/out/report-populations-plans-<size>.txt;
//  2. the whole `accesstrail report` command (all four formats) as a child process:
//     wall seconds and peak RSS (aim: under 30 s at 1m), first with --no-reuse (its own
//     correlation, as for a store that changed since the last report), then as a user
//     runs it again on an unchanged store (it reuses that correlation run,
//     src/correlation/reuse.ts; the content hash must be the same). Reference:
//     correlate() alone in the same run — a report is one correlation plus populations
//     and rendering.
//
//   npx tsx bench/report-from-store.ts [--size 100k] [--store URL]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { correlate } from '../src/correlation/correlate.js';
import { resolveRuleParameters } from '../src/correlation/parameters.js';
import { buildReportModel } from '../src/reports/build-model.js';
import { openStore } from '../src/store/database.js';
import { sizeLabel } from './correlate.js';
import { ADMIN_GROUP, APP_ID, asOf, period, scaleForSize, sharedCorrelationStore } from './lib/correlation-store.js';
import { argValue, type Benchmark, type BenchOptions, type BenchRow, type BenchSize, isMain } from './lib/harness.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface PlanRecord {
  name: string;
  ms: number;
  plan: string;
}

/** The report's correlation and model in process, each population query EXPLAINed. */
async function modelWithPlans(
  url: string,
): Promise<{ correlateSeconds: number; modelSeconds: number; plans: PlanRecord[]; humanAccounts: number }> {
  const store = await openStore({ databaseUrl: url, poolSize: 4 });
  try {
    const parameters = resolveRuleParameters({}, { adminGroupIds: [ADMIN_GROUP] });
    let started = performance.now();
    const correlation = await correlate(store.db, {
      period,
      asOf,
      parameters,
      metabaseAppIds: [APP_ID],
      adminGroupIds: [ADMIN_GROUP],
      purpose: 'report',
    });
    const correlateSeconds = (performance.now() - started) / 1000;
    const plans: PlanRecord[] = [];
    started = performance.now();
    const model = await buildReportModel({
      db: store.db,
      framework: 'soc2',
      period,
      generatedAt: new Date(),
      correlation,
      // Only the population queries: the input statements create and analyse the
      // temporary tables (EXPLAIN ANALYZE would run them twice).
      async observePopulationStatement(name, compiled, trx) {
        if (/^(input|index|analyze) /.test(name)) return;
        const { rows } = await trx.executeQuery<{ 'QUERY PLAN': string }>({
          ...compiled,
          sql: `explain (analyze, buffers) ${compiled.sql}`,
        });
        const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
        plans.push({ name, ms: Number(/Execution Time: ([\d.]+) ms/.exec(plan)?.[1] ?? Number.NaN), plan });
      },
    });
    // The model time includes each population query twice (EXPLAIN ANALYZE, then the run).
    const modelSeconds = (performance.now() - started) / 1000;
    return { correlateSeconds, modelSeconds, plans, humanAccounts: model.populations.humanAccounts.length };
  } finally {
    await store.close();
  }
}

/** The whole `accesstrail report` command, as a user runs it: seconds and peak RSS. */
function reportCommand(url: string, options: { reuse: boolean }): { seconds: number; peakRssMb: number; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-report-store-'));
  try {
    const started = performance.now();
    const child = spawnSync(
      '/usr/bin/time',
      [
        '-f',
        'peak-rss-kb %M',
        process.execPath,
        path.join(root, 'bin/accesstrail.js'),
        'report',
        '--framework',
        'soc2',
        '--from',
        period.from.toISOString(),
        '--to',
        period.to.toISOString(),
        '--format',
        'json,pdf,csv,oscal',
        '--out',
        path.join(dir, 'out'),
        ...(options.reuse ? [] : ['--no-reuse']),
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        maxBuffer: 16 << 20,
        env: {
          ...process.env,
          DATABASE_URL: url,
          ACCESSTRAIL_DATA_DIR: path.join(dir, 'data'),
          ENTRA_METABASE_APP_IDS: APP_ID,
          ENTRA_ADMIN_GROUP_IDS: ADMIN_GROUP,
          ACCESSTRAIL_LOG_LEVEL: 'warn',
        },
      },
    );
    const seconds = (performance.now() - started) / 1000;
    if (child.status !== 0) throw new Error(`accesstrail report failed (${child.status}): ${child.stderr}`);
    const kb = Number(/peak-rss-kb (\d+)/.exec(child.stderr)?.[1] ?? Number.NaN);
    return { seconds, peakRssMb: kb / 1024, output: child.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measure(size: BenchSize, outDir: string, storeUrl?: string) {
  const scale = scaleForSize(size);
  const url = storeUrl ?? (await sharedCorrelationStore(scale));
  // The commands first: the in-process correlation below would be a run they could reuse.
  const command = reportCommand(url, { reuse: false });
  const again = reportCommand(url, { reuse: true });
  const hashOf = (output: string) => /content sha256 ([0-9a-f]{64})/.exec(output)?.[1];
  if (!/correlation run \d+ \(reused/.test(again.output) || hashOf(again.output) !== hashOf(command.output))
    throw new Error(`the second report did not reuse the first one's correlation with the same content:\n${again.output}`);
  const inProcess = await modelWithPlans(url);
  mkdirSync(outDir, { recursive: true });
  const plansFile = path.join(outDir, `report-populations-plans-${size}.txt`);
  writeFileSync(
    plansFile,
    `report populations from the store, ${sizeLabel(scale)}, ${new Date().toISOString()}\n` +
      `each query of src/reports/populations.repository.ts under EXPLAIN (ANALYZE, BUFFERS), in the report's transaction\n\n` +
      inProcess.plans.map((p) => `=== ${p.name}: ${p.ms.toFixed(1)} ms ===\n${p.plan}`).join('\n\n') +
      '\n',
  );
  return { scale, inProcess, command, again, plansFile };
}

export const benchmark: Benchmark = {
  name: 'report-from-store',
  description: 'the whole `report` command (json, pdf, csv, oscal) on the generated store; population plans to bench/out',
  sizes: ['quick', '10k', '100k', '1m'],
  async run({ size, outDir, storeUrl }: BenchOptions): Promise<BenchRow[]> {
    const m = await measure(size, outDir, storeUrl);
    const slowest = [...m.inProcess.plans].sort((a, b) => b.ms - a.ms)[0];
    return [
      {
        stage: 'report from store (whole command)',
        size: sizeLabel(m.scale),
        throughput: { value: m.inProcess.humanAccounts / m.command.seconds, unit: 'accounts/s' },
        seconds: m.command.seconds,
        peakRssMb: m.command.peakRssMb,
        reference: { name: 'correlate() alone', seconds: m.inProcess.correlateSeconds },
        note: `its own correlation (--no-reuse); slowest population query ${slowest?.name} ${((slowest?.ms ?? 0) / 1000).toFixed(2)} s${size === '1m' ? (m.command.seconds < 30 ? '; aim < 30 s met' : '; aim < 30 s NOT met') : ''}`,
      },
      {
        stage: 'report from store (whole command, again)',
        size: sizeLabel(m.scale),
        throughput: { value: m.inProcess.humanAccounts / m.again.seconds, unit: 'accounts/s' },
        seconds: m.again.seconds,
        peakRssMb: m.again.peakRssMb,
        reference: { name: 'correlate() alone', seconds: m.inProcess.correlateSeconds },
        note: "unchanged store: reuses the first command's correlation run, same content hash",
      },
    ];
  },
};

if (isMain(import.meta.url)) {
  const size = (argValue(process.argv, 'size') ?? '100k') as BenchSize;
  const m = await measure(size, path.join(root, 'bench/out'), argValue(process.argv, 'store'));
  console.log(`report from store, ${sizeLabel(m.scale)}`);
  console.log(
    `  in process: correlate ${m.inProcess.correlateSeconds.toFixed(2)} s, model ${m.inProcess.modelSeconds.toFixed(2)} s (population queries run twice: EXPLAIN ANALYZE and the run), ${m.inProcess.humanAccounts} human accounts`,
  );
  for (const p of m.inProcess.plans) console.log(`    ${p.name.padEnd(20)} ${(p.ms / 1000).toFixed(3).padStart(8)} s`);
  console.log(
    `  whole \`accesstrail report --no-reuse\` command: ${m.command.seconds.toFixed(2)} s, peak RSS ${m.command.peakRssMb.toFixed(0)} MB`,
  );
  console.log(
    `  the same command again (reuses that correlation): ${m.again.seconds.toFixed(2)} s, peak RSS ${m.again.peakRssMb.toFixed(0)} MB`,
  );
  console.log(
    m.command.output
      .trim()
      .split('\n')
      .map((line) => `    ${line}`)
      .join('\n'),
  );
  console.log(`  plans: ${path.relative(process.cwd(), m.plansFile)}`);
}
