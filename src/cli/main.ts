// The only place that exits the process. Exit status: 0 success; 1 the run failed
// (one clear line on stderr); 2 bad usage or configuration.
import { CommanderError } from 'commander';

import { isAppError } from '../errors.js';
import { buildProgram } from './program.js';

async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (isAppError(error)) {
      process.stderr.write(`accesstrail: ${error.message}\n`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`accesstrail: unexpected failure: ${message}\n`);
    if (process.env['ACCESSTRAIL_DEBUG'] && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
