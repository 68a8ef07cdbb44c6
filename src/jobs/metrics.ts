// /metrics in Prometheus text (prom-client), one registry per service instance (tests
// build several in one process). Labels hold source ids, stream names, outcomes, queue
// names and route patterns only: never URLs with queries, keys, tokens or secrets.
// Counters count what this process did; the gauges about the archive (last complete
// collection, retention) are read from the store at scrape time, so every `serve`
// sharing a store reports the same archive.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

import { type GraphRequestEvent, graphRequestObservers } from '../collectors/entra/requester.js';
import type { StreamFreshness } from '../store/freshness.repository.js';
import type { CollectionObserver, CollectionRunResult } from './collection-run.js';

export interface ServiceMetrics extends CollectionObserver {
  readonly registry: Registry;
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  /** Read at scrape time. */
  setSources(read: () => Promise<{ freshness: StreamFreshness[]; queues: Record<string, number> }>): void;
  close(): void;
}

export function createServiceMetrics(): ServiceMetrics {
  const registry = new Registry();
  // Every metric registers in this instance's own registry (tests build several at once).
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });
  const runs = counter(
    'accesstrail_collection_runs_total',
    'Collections of a source by outcome (succeeded, partial, failed, skipped), by this process',
    ['source', 'outcome'],
  );
  const records = counter('accesstrail_records_collected_total', 'Records stored by collections of this process, per source and stream', [
    'source',
    'stream',
  ]);
  const graph = counter('accesstrail_graph_requests_total', 'Microsoft Graph requests sent by this process');
  const throttled = counter('accesstrail_graph_throttled_total', 'Graph answers 429 (throttled)');
  const retries = counter('accesstrail_graph_retries_total', 'Graph requests retried (429, 5xx, timeouts, resets)');
  const httpDuration = new Histogram({
    name: 'accesstrail_http_request_duration_seconds',
    help: 'API request durations',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  let read: (() => Promise<{ freshness: StreamFreshness[]; queues: Record<string, number> }>) | undefined;
  let snapshot: Promise<{ freshness: StreamFreshness[]; queues: Record<string, number> }> | undefined;
  // The three store gauges share one read per scrape.
  const current = () =>
    (snapshot ??= (read?.() ?? Promise.resolve({ freshness: [], queues: {} })).finally(() => setTimeout(() => (snapshot = undefined), 0)));
  new Gauge({
    name: 'accesstrail_last_complete_collection_timestamp_seconds',
    help: 'End of the latest completely collected window, per source and stream (Unix seconds)',
    labelNames: ['source', 'stream'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const f of (await current()).freshness)
        this.set({ source: f.sourceId, stream: f.stream }, Math.floor(f.lastCoveredTo.getTime() / 1000));
    },
  });
  new Gauge({
    name: 'accesstrail_evidence_retention_days_left',
    help: 'Days until the upstream retention deletes events not yet archived (negative: some are lost); streams with a known retention only',
    labelNames: ['source', 'stream'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const f of (await current()).freshness) if (f.daysLeft !== null) this.set({ source: f.sourceId, stream: f.stream }, f.daysLeft);
    },
  });
  new Gauge({
    name: 'accesstrail_job_queue_depth',
    help: 'Jobs waiting in each queue (created or retry)',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [queue, depth] of Object.entries((await current()).queues)) this.set({ queue }, depth);
    },
  });

  const onGraph = (event: GraphRequestEvent) => {
    if (event === 'request') graph.inc();
    else if (event === 'throttled') throttled.inc();
    else retries.inc();
  };
  graphRequestObservers.add(onGraph);

  return {
    registry,
    httpDuration,
    runFinished(result: CollectionRunResult) {
      for (const source of result.sources) {
        const label = source.sourceId ?? source.kind;
        runs.inc({ source: label, outcome: source.status });
        for (const stream of source.summary?.streams ?? []) records.inc({ source: label, stream: stream.stream }, stream.records);
      }
    },
    setSources(reader) {
      read = reader;
    },
    close() {
      graphRequestObservers.delete(onGraph);
    },
  };
}
