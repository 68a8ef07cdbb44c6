import type { Command } from 'commander';

import { DEMO_API_APP_ID_URI, DEMO_GRC_CLIENT_ID, DEMO_GRC_SECRET, serveDemoConsole } from '../../demo/console.js';
import { runDemo } from '../../demo/run.js';
import { loadCommandConfig, say } from '../context.js';
import { terminalProgress } from '../progress.js';
import { printCorrelation } from './correlate.js';

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline on a synthetic organisation served by local Entra and Metabase emulators, and write its reports')
    .option(
      '--serve',
      'then serve the web console (sign-in through the Entra emulator) and the API until Ctrl-C (HOST, PORT; PORT=0 picks a free port)',
    )
    .action(async (options: { serve?: boolean }) => {
      const { config, logger } = loadCommandConfig();
      // On a terminal the demo's own summary is the output: only warnings and errors are
      // logged beside it, unless a more verbose level was asked for.
      if (process.stderr.isTTY && config.ACCESSTRAIL_LOG_LEVEL === 'info') logger.level = 'warn';
      say(
        'accesstrail demo: a synthetic organisation (Contoso) in a local Entra ID emulator (HTTPS, real Microsoft libraries) and a Metabase application database',
      );
      const started = performance.now();
      const result = await runDemo({
        dataDir: config.dataDir,
        logger,
        progress: terminalProgress(),
        ...(options.serve
          ? {
              hold: async ({ result: demo, entra, store }) => {
                printSummary(demo, started);
                const { app, publicUrl, people } = await serveDemoConsole({
                  demo,
                  entra,
                  store,
                  logger,
                  host: config.HOST,
                  port: config.PORT,
                  logLevel: config.ACCESSTRAIL_LOG_LEVEL,
                });
                say('');
                say(
                  `console: ${publicUrl}/  (sign-in through the Entra emulator at ${entra.url}; its certificate is self-signed, the browser asks once)`,
                );
                for (const person of people) {
                  say(
                    `  sign in as ${person.displayName.padEnd(18)} ${person.upn.padEnd(32)} → ${person.role === 'none' ? 'no console role (refused, and told why)' : person.role}`,
                  );
                }
                say(
                  `API with an Entra token: client ${DEMO_GRC_CLIENT_ID}, secret ${DEMO_GRC_SECRET}, scope ${DEMO_API_APP_ID_URI}/.default at ${entra.authorityHost}/${demo.config.AZURE_TENANT_ID}/oauth2/v2.0/token`,
                );
                say('press Ctrl-C to stop');
                const signal = await waitForSignal();
                logger.info({ signal }, 'stopping');
                await app.close();
              },
            }
          : {}),
      });
      if (!options.serve) printSummary(result, started);
    });
}

function printSummary(result: Awaited<ReturnType<typeof runDemo>>, started: number): void {
  for (const source of result.collected) {
    say(`collected ${source.sourceId}:`);
    for (const stream of source.streams)
      say(`  ${stream.stream}: ${stream.records} records${stream.quarantined ? `, ${stream.quarantined} quarantined` : ''}`);
  }
  printCorrelation(result.correlation);
  for (const report of result.reports) {
    say(`${report.model.framework} report ${report.reportId}`);
    say(`  controls: ${report.model.controls.map((c) => `${c.id} ${c.status}`).join(', ')}`);
    for (const file of report.files) say(`  ${file.format.padEnd(5)} ${file.path}`);
    say(`  manifest ${report.manifest.path}`);
  }
  say(`store: embedded Postgres in ${result.demoDir} (ACCESSTRAIL_DATA_DIR=${result.demoDir} npx accesstrail verify --store)`);
  say(
    `check a report: ACCESSTRAIL_DATA_DIR=${result.demoDir} npx accesstrail verify ${result.reports[0]?.files.find((f) => f.format === 'pdf')?.path ?? ''}`,
  );
  say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
