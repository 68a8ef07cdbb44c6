import type { Command } from 'commander';
import { runDemo } from '../../demo/run.js';
import { loadCommandConfig, say } from '../context.js';
import { terminalProgress } from '../progress.js';
import { printCorrelation } from './correlate.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline on a synthetic organisation served by local Entra and Metabase emulators, and write its reports')
    .action(async () => {
      const { config, logger } = loadCommandConfig();
      say('accesstrail demo: a synthetic organisation (Contoso) in a local Entra ID emulator (HTTPS, real Microsoft libraries) and a Metabase application database');
      const started = performance.now();
      const result = await runDemo({ dataDir: config.dataDir, logger, progress: terminalProgress() });
      for (const source of result.collected) {
        say(`collected ${source.sourceId}:`);
        for (const stream of source.streams) say(`  ${stream.stream}: ${stream.records} records${stream.quarantined ? `, ${stream.quarantined} quarantined` : ''}`);
      }
      printCorrelation(result.correlation);
      for (const report of result.reports) {
        say(`${report.model.framework} report ${report.reportId}`);
        say(`  controls: ${report.model.controls.map((c) => `${c.id} ${c.status}`).join(', ')}`);
        for (const file of report.files) say(`  ${file.format.padEnd(5)} ${file.path}`);
        say(`  manifest ${report.manifest.path}`);
      }
      say(`store: embedded Postgres in ${result.demoDir} (ACCESSTRAIL_DATA_DIR=${result.demoDir} npx accesstrail verify --store)`);
      say(`check a report: ACCESSTRAIL_DATA_DIR=${result.demoDir} npx accesstrail verify ${result.reports[0]?.files.find((f) => f.format === 'pdf')?.path ?? ''}`);
      say(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    });
}
