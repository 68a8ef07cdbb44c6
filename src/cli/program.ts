// The command tree. Each command lives in commands/<name>.ts and registers itself.
import { Command } from 'commander';

import { registerArchive } from './commands/archive.js';
import { registerCollect } from './commands/collect.js';
import { registerCorrelate } from './commands/correlate.js';
import { registerDemo } from './commands/demo.js';
import { registerDoctor } from './commands/doctor.js';
import { registerImport } from './commands/import.js';
import { registerKeys } from './commands/keys.js';
import { registerLink } from './commands/link.js';
import { registerMigrate } from './commands/migrate.js';
import { registerRepack } from './commands/repack.js';
import { registerReport } from './commands/report.js';
import { registerServe } from './commands/serve.js';
import { registerVerify } from './commands/verify.js';

export function buildProgram(): Command {
  const program = new Command('accesstrail')
    .description(
      'Access evidence for auditors: Entra ID sign-ins and Metabase activity, correlated into signed SOC 2 and ISO 27001 reports',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerMigrate(program);
  registerCollect(program);
  registerCorrelate(program);
  registerImport(program);
  registerVerify(program);
  registerLink(program);
  registerServe(program);
  registerKeys(program);
  registerReport(program);
  registerDemo(program);
  registerDoctor(program);
  registerArchive(program);
  registerRepack(program);
  return program;
}
