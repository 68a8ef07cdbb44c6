// Runs one benchmark at one size in this process and prints its rows as one JSON line
// (bin/bench.js starts one process per benchmark and size, so each peak RSS is its own).
//   node --import tsx bench/lib/run-one.ts bench/NAME.ts SIZE OUT_DIR
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { type Benchmark, type BenchSize, peakRssMb } from './harness.js';

const [file, size, outDir] = process.argv.slice(2);
if (!file || !size || !outDir) throw new Error('usage: run-one.ts FILE SIZE OUT_DIR');
const module = (await import(pathToFileURL(path.resolve(file)).href)) as { benchmark?: Benchmark };
if (!module.benchmark) throw new Error(`${file} exports no \`benchmark\``);
const rows = await module.benchmark.run({ size: size as BenchSize, outDir });
const peak = peakRssMb();
process.stdout.write(`\nBENCH-ROWS ${JSON.stringify(rows.map((row) => ({ ...row, peakRssMb: row.peakRssMb ?? peak })))}\n`);
// Pools and servers a benchmark forgot to close must not keep the runner waiting.
process.exit(0);
