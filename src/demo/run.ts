// `accesstrail demo`: the whole pipeline on the synthetic organisation. Entra is served
// by the HTTPS emulator (driven by the real @azure/identity and Graph client), Metabase
// by a real application database (embedded PGlite over the Postgres wire protocol), and
// everything lands in an embedded store in <data dir>/demo.
import { rm } from 'node:fs/promises';
import path from 'node:path';

import type { ProgressReporter, SourceSummary } from '../collectors/types.js';
import { type Config, parseConfig } from '../config.js';
import type { CorrelationResult } from '../correlation/correlate.js';
import { type EntraEmulator, startEntraEmulator } from '../emulators/entra/index.js';
import { startEmbeddedMetabaseDatabase } from '../emulators/metabase/index.js';
import { AppError } from '../errors.js';
import { runCollection } from '../jobs/collection-run.js';
import type { Logger } from '../logger.js';
import { type CreatedReport, createReport } from '../reports/service.js';
import type { ReportFormat } from '../reports/write.js';
import { openStore, type Store } from '../store/database.js';
import {
  DEMO_ADMIN_GROUP_ID,
  DEMO_COLLECTOR_CLIENT_ID,
  DEMO_COLLECTOR_SECRET,
  DEMO_METABASE_APP_ID,
  DEMO_TENANT_ID,
  type DemoOrganisation,
  demoOrganisation,
} from './organisation.js';

export interface DemoOptions {
  /** The demo's own store and artefacts go to <dataDir>/demo (emptied first). */
  dataDir: string;
  /** Postgres instead of the embedded store (tests). */
  databaseUrl?: string;
  formats?: ReportFormat[];
  logger: Logger;
  progress?: ProgressReporter;
  now?: Date;
  /** Keep the store open and return it (the caller closes it). */
  keepStore?: boolean;
  /** Runs with the emulators and the store still up (`demo --serve`); they close when it resolves. */
  hold?: (running: { result: DemoResult; entra: EntraEmulator; store: Store }) => Promise<void>;
}

export interface DemoResult {
  organisation: DemoOrganisation;
  config: Config;
  collected: SourceSummary[];
  correlation: CorrelationResult;
  reports: CreatedReport[];
  demoDir: string;
  store?: Store;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const now = options.now ?? new Date();
  const organisation = demoOrganisation({ now });
  const demoDir = path.resolve(options.dataDir, 'demo');
  await rm(demoDir, { recursive: true, force: true });

  const entra = await startEntraEmulator({ tenantId: DEMO_TENANT_ID, dataset: organisation.entra });
  const metabaseDb = await startEmbeddedMetabaseDatabase({ version: 60, dataset: organisation.metabase });
  let store: Store | undefined;
  try {
    const config = parseConfig({
      ACCESSTRAIL_DATA_DIR: demoDir,
      AZURE_TENANT_ID: DEMO_TENANT_ID,
      AZURE_CLIENT_ID: DEMO_COLLECTOR_CLIENT_ID,
      AZURE_CLIENT_SECRET: DEMO_COLLECTOR_SECRET,
      AZURE_AUTHORITY_HOST: entra.authorityHost,
      GRAPH_BASE_URL: entra.graphBaseUrl,
      ENTRA_METABASE_APP_IDS: DEMO_METABASE_APP_ID,
      ENTRA_ADMIN_GROUP_IDS: DEMO_ADMIN_GROUP_ID,
      // The synthetic tenant keeps 90 days of logs (the demo spans 60).
      ENTRA_LOG_RETENTION_DAYS: '90',
      METABASE_DB_URL: metabaseDb.url,
      ...(options.databaseUrl ? { DATABASE_URL: options.databaseUrl } : {}),
    });
    store = await openStore({ databaseUrl: config.DATABASE_URL, dataDir: demoDir });
    // Collect from the first whole day of the synthetic history up to now, through the
    // same collection run as `collect` and `serve`.
    const since = new Date(organisation.start.getTime() + 86_400_000);
    const run = await runCollection(
      { store, config, logger: options.logger, now: () => now, ...(options.progress ? { progress: options.progress } : {}) },
      {
        source: 'all',
        since,
        until: now,
        requestedBy: 'demo',
        // The reports below correlate for their own period.
        correlate: false,
        // The emulator does not throttle, so the demo does not pace itself to Graph's limit.
        entra: { tlsCa: entra.caCertificatePem, reportingLimit: null },
      },
    );
    if (run.status !== 'succeeded') throw new AppError('INTERNAL', `the demo's collection was ${run.status}: ${run.error}`);
    const collected = run.sources.flatMap((source) => (source.summary ? [source.summary] : []));

    // Each report evaluates the rules for its own period; the demo's period is the same
    // for both, so the first report's correlation is the one the demo prints.
    const reports: CreatedReport[] = [];
    for (const framework of ['soc2', 'iso27001'] as const) {
      reports.push(
        await createReport(
          { db: store.db, config, logger: options.logger, now: () => now },
          {
            framework,
            period: { from: since, to: now },
            formats: options.formats ?? ['json', 'pdf', 'csv', 'oscal'],
            outDir: path.join(demoDir, 'reports'),
          },
        ),
      );
    }
    const result: DemoResult = { organisation, config, collected, correlation: reports[0]!.correlation, reports, demoDir };
    if (options.hold) await options.hold({ result, entra, store });
    if (options.keepStore) {
      result.store = store;
      store = undefined;
    }
    return result;
  } finally {
    await store?.close();
    await metabaseDb.close();
    await entra.close();
  }
}
