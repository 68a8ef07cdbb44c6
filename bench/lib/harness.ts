// The interface every benchmark exports so `npm run bench` (bin/bench.js) can find it,
// run it at each size in its own process, and print one table (bench/README.md).
//
// A benchmark file exports `benchmark: Benchmark` and runs nothing at import; when run
// directly (`npx tsx bench/NAME.ts …`) it may still do what it always did, guarded by
// `isMain(import.meta.url)`.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The sizes of the table, in 10× steps of sign-ins (or the stage's own unit);
 *  'quick' is a small size the whole suite runs in under a minute. */
export type BenchSize = 'quick' | '10k' | '100k' | '1m';
export const BENCH_SIZES: readonly BenchSize[] = ['quick', '10k', '100k', '1m'];

export interface BenchRow {
  /** What was measured, e.g. 'correlate', 'ingest (repository)'. */
  stage: string;
  /** The size in words, e.g. '1,000,000 sign-ins, 20,000 accounts'. */
  size: string;
  /** Units per second, with its unit ('sign-ins/s', 'requests/s'). */
  throughput: { value: number; unit: string } | null;
  seconds: number;
  /** Peak resident memory of the benchmark's process (MB); filled by the runner when absent. */
  peakRssMb?: number;
  /** The reference measured in the same run over the same data, and its seconds. The
   *  table's ratio is stage seconds / reference seconds: how many times the reference's
   *  time the stage takes (ingest at 0.8× COPY's throughput is a ratio of 1.25). */
  reference: { name: string; seconds: number } | null;
  /** Anything the table should say (an aim met or not, a p99). */
  note?: string;
}

export interface BenchOptions {
  size: BenchSize;
  /** bench/out, created. */
  outDir: string;
  /** A kept store to reuse (Postgres URL), when the benchmark reads a generated store. */
  storeUrl?: string;
}

export interface Benchmark {
  /** The file's name without .ts. */
  name: string;
  description: string;
  /** The sizes it runs at in the table (a subset of BENCH_SIZES, 'quick' included). */
  sizes: readonly BenchSize[];
  run(options: BenchOptions): Promise<BenchRow[]>;
}

export function isMain(moduleUrl: string): boolean {
  return Boolean(process.argv[1]) && path.resolve(process.argv[1]!) === fileURLToPath(moduleUrl);
}

export function peakRssMb(): number {
  return process.resourceUsage().maxRSS / 1024; // maxRSS is in kilobytes
}

export function argValue(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? args[index + 1] : undefined;
}
