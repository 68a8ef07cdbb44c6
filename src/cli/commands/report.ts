import type { Command } from 'commander';

import { AppError } from '../../errors.js';
import { explicitPeriod, parseQuarter } from '../../reports/period.js';
import { createReport } from '../../reports/service.js';
import { REPORT_FORMATS, type ReportFormat } from '../../reports/write.js';
import { say, withStore } from '../context.js';
import { parseInstant, withOption } from '../options.js';

export function parseFormats(text: string): ReportFormat[] {
  const formats = text
    .split(',')
    .map((f) => f.trim().toLowerCase())
    .filter(Boolean);
  for (const format of formats) {
    if (!REPORT_FORMATS.includes(format as ReportFormat))
      throw new AppError('USAGE', `--format takes ${REPORT_FORMATS.join(', ')} (got "${format}")`);
  }
  if (formats.length === 0) throw new AppError('USAGE', '--format needs at least one format');
  return [...new Set(formats)] as ReportFormat[];
}

interface ReportOptions {
  framework: string;
  period?: string;
  from?: string;
  to?: string;
  format: string;
  out?: string;
  /** false with --no-reuse */
  reuse: boolean;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('build, store, sign and write a SOC 2 or ISO 27001 access report for a period')
    .requiredOption('--framework <framework>', 'soc2 | iso27001')
    .option('--period <quarter>', 'a quarter, such as 2026-Q3')
    .option('--from <iso>', 'period start (with --to)')
    .option('--to <iso>', 'period end, exclusive (with --from)')
    .option('--format <formats>', 'comma-separated: json,pdf,csv,oscal', 'json,pdf,csv,oscal')
    .option('--out <dir>', 'output folder (default: <data dir>/reports)')
    .option('--no-reuse', 'evaluate the rules afresh even when an earlier report run of the same inputs over an unchanged store is kept')
    .action(async (options: ReportOptions) => {
      if (options.framework !== 'soc2' && options.framework !== 'iso27001')
        throw new AppError('USAGE', `--framework must be soc2 or iso27001 (got "${options.framework}")`);
      if (options.period && (options.from || options.to)) throw new AppError('USAGE', 'give either --period or --from/--to, not both');
      let period;
      if (options.period) period = withOption('--period', () => parseQuarter(options.period!));
      else if (options.from && options.to) {
        const from = parseInstant('--from', options.from);
        const to = parseInstant('--to', options.to);
        period = withOption('--from/--to', () => explicitPeriod(from, to));
      } else throw new AppError('USAGE', 'a period is needed: --period 2026-Q3, or --from and --to');
      const formats = parseFormats(options.format);
      await withStore(async ({ store, config, logger }) => {
        const report = await createReport(
          { db: store.db, config, logger },
          {
            framework: options.framework as 'soc2' | 'iso27001',
            period,
            formats,
            reuseCorrelation: options.reuse,
            ...(options.out ? { outDir: options.out } : {}),
          },
        ).catch((error: unknown) => {
          // The service names the archives; the command says how to load them back here.
          if (error instanceof AppError && error.code === 'CONFLICT' && Array.isArray(error.details?.['archives']))
            throw new AppError('CONFLICT', `${error.message}: accesstrail archive --restore FILE`, {
              cause: error,
              details: error.details,
            });
          throw error;
        });
        say(`report ${report.reportId}${report.model.provisional ? ' (provisional: the period has not ended)' : ''}`);
        say(`  content sha256 ${report.contentSha256}`);
        const reused = report.correlation.reused ? ' (reused: an earlier run of the same inputs; nothing it read has changed since)' : '';
        say(`  correlation run ${report.correlation.runId}${reused}`);
        for (const file of report.files) say(`  ${file.format.padEnd(5)} ${file.path}  sha256 ${file.sha256}`);
        say(`  manifest ${report.manifest.path}  sha256 ${report.manifest.sha256}`);
        const statuses = report.model.controls.map((c) => `${c.id} ${c.status}`).join(', ');
        say(`  controls: ${statuses}`);
        say(`  findings: ${report.model.findings.length}`);
      });
    });
}
