#!/usr/bin/env node
// `npm run bench` runs every benchmark (each bench/*.ts that exports `benchmark`, see
// bench/README.md) at the sizes 10k, 100k and 1m, each size in its own process, and
// prints one table (also written to bench/out/bench-table.md).
//   npm run bench                      every benchmark, every size
//   npm run bench -- --quick           the small size of each (under a minute)
//   npm run bench -- --only a,b        some benchmarks;  --sizes 10k,100k  some sizes
//   npm run bench -- --keep-stores     keep the generated stores for the next run
//   npm run bench -- NAME [args]       one bench/NAME.ts directly, with its own options
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, 'bench');
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts'))
  .sort();
const names = files.map((f) => f.replace(/\.ts$/, ''));
// A benchmark declares itself by exporting `benchmark` (bench/lib/harness.ts): only
// those are imported, so a script that runs at import is never started by accident.
const pluggable = files
  .filter((f) => /export const benchmark\b/.test(readFileSync(path.join(benchDir, f), 'utf8')))
  .map((f) => f.replace(/\.ts$/, ''));
const args = process.argv.slice(2);
const tsx = [process.execPath, '--import', 'tsx'];

if (args[0] && !args[0].startsWith('--')) {
  if (!names.includes(args[0])) {
    console.log(`no benchmark "${args[0]}"; benchmarks: ${names.join(', ')}`);
    process.exit(2);
  }
  const result = spawnSync(tsx[0], [...tsx.slice(1), path.join(benchDir, `${args[0]}.ts`), ...args.slice(1)], {
    stdio: 'inherit',
    cwd: root,
  });
  process.exit(result.status ?? 1);
}

const option = (name) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
};
const quick = args.includes('--quick');
const only = option('only')?.split(',');
const sizes = quick ? ['quick'] : (option('sizes')?.split(',') ?? ['10k', '100k', '1m']);
const selected = pluggable.filter((name) => !only || only.includes(name));
const outDir = path.join(root, 'bench', 'out');
mkdirSync(outDir, { recursive: true });
const standalone = names.filter((name) => !pluggable.includes(name));
if (standalone.length) console.log(`standalone (no \`benchmark\` export, run with npm run bench -- NAME): ${standalone.join(', ')}`);

const rows = [];
const started = Date.now();
const declared = spawnSync(
  tsx[0],
  [
    ...tsx.slice(1),
    '-e',
    `Promise.all(${JSON.stringify(selected)}.map((n) => import('./bench/' + n + '.ts').then((m) => [n, m.benchmark.sizes]))).then((all) => console.log('SIZES ' + JSON.stringify(Object.fromEntries(all))))`,
  ],
  { cwd: root, encoding: 'utf8' },
);
const sizesLine = declared.stdout.split('\n').find((l) => l.startsWith('SIZES '));
if (!sizesLine) {
  console.log(`could not read the benchmarks' sizes:\n${declared.stderr}`);
  process.exit(1);
}
const sizesOf = JSON.parse(sizesLine.slice('SIZES '.length));
for (const size of sizes) {
  for (const name of selected) {
    if (!sizesOf[name].includes(size)) continue;
    process.stdout.write(`${name} @ ${size} … `);
    const begin = Date.now();
    const child = spawnSync(
      tsx[0],
      [...tsx.slice(1), path.join(benchDir, 'lib', 'run-one.ts'), path.join(benchDir, `${name}.ts`), size, outDir],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('BENCH-ROWS '));
    if (child.status !== 0 || !line) {
      console.log(`failed (${child.status})\n${child.stderr.slice(-2000)}`);
      rows.push({
        stage: name,
        size,
        throughput: null,
        seconds: (Date.now() - begin) / 1000,
        reference: null,
        note: 'FAILED (see output above)',
      });
      continue;
    }
    const got = JSON.parse(line.slice('BENCH-ROWS '.length));
    rows.push(...got);
    console.log(`${((Date.now() - begin) / 1000).toFixed(1)} s`);
  }
}
// Stores named by ACCESSTRAIL_BENCH_STORE_* (bench/lib/correlation-store.ts) are not the
// runner's: with one set, it drops nothing.
const givenStores = Object.keys(process.env).some((name) => name.startsWith('ACCESSTRAIL_BENCH_STORE_'));
if (!args.includes('--keep-stores') && !givenStores && selected.some((name) => ['correlate', 'report-from-store'].includes(name))) {
  spawnSync(tsx[0], [...tsx.slice(1), '-e', `import('./bench/lib/correlation-store.ts').then((m) => m.dropSharedCorrelationStores())`], {
    cwd: root,
    stdio: 'inherit',
  });
}

const fmt = (n, digits) => n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const header = ['stage', 'size', 'throughput', 'seconds', 'peak RSS MB', 'reference (same run)', 'time ÷ reference', 'note'];
const body = rows.map((row) => [
  row.stage,
  row.size,
  row.throughput ? `${Math.round(row.throughput.value).toLocaleString('en')} ${row.throughput.unit}` : '—',
  fmt(row.seconds, 2),
  row.peakRssMb === undefined ? '—' : fmt(row.peakRssMb, 0),
  row.reference ? `${row.reference.name}: ${fmt(row.reference.seconds, 2)} s` : '—',
  row.reference && row.reference.seconds > 0 ? `${fmt(row.seconds / row.reference.seconds, 2)}×` : '—',
  row.note ?? '',
]);
const table = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
const machine = `${spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()} cores, Node ${process.version}, ${new Date().toISOString()}, ${((Date.now() - started) / 1000).toFixed(0)} s in all`;
writeFileSync(path.join(outDir, 'bench-table.md'), `${machine}\n\n${table}\n`);
console.log(`\n${machine}\n\n${table}\n\n(also in bench/out/bench-table.md)`);
process.exit(rows.some((row) => row.note?.startsWith('FAILED')) ? 1 : 0);
