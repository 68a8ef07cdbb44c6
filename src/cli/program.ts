// The command tree. Each command lives in commands/<name>.ts and registers itself.
//
// Only the command being run is loaded: each command's module loads what it needs (the
// report renderers, the HTTP service, the Graph client, …), and loading all of them took
// 2.2 s of every command's start through tsx against 1.2 s for `report` alone. Help, a
// mistyped command or none at all load every command, so the help lists them all and
// commander can suggest the nearest name.
import { Command } from 'commander';

type Registrar = (program: Command) => void;

/** In the order the help lists them. */
const COMMANDS: Record<string, () => Promise<Registrar>> = {
  migrate: async () => (await import('./commands/migrate.js')).registerMigrate,
  collect: async () => (await import('./commands/collect.js')).registerCollect,
  correlate: async () => (await import('./commands/correlate.js')).registerCorrelate,
  import: async () => (await import('./commands/import.js')).registerImport,
  verify: async () => (await import('./commands/verify.js')).registerVerify,
  link: async () => (await import('./commands/link.js')).registerLink,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  keys: async () => (await import('./commands/keys.js')).registerKeys,
  report: async () => (await import('./commands/report.js')).registerReport,
  demo: async () => (await import('./commands/demo.js')).registerDemo,
  doctor: async () => (await import('./commands/doctor.js')).registerDoctor,
  archive: async () => (await import('./commands/archive.js')).registerArchive,
  repack: async () => (await import('./commands/repack.js')).registerRepack,
};

/** The program for `argv` (process.argv: node, script, then the arguments). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('accesstrail')
    .description(
      'Access evidence for auditors: Entra ID sign-ins and Metabase activity, correlated into signed SOC 2 and ISO 27001 reports',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  const named = argv.slice(2).find((arg) => !arg.startsWith('-'));
  const wanted = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
  for (const name of wanted) (await COMMANDS[name]!())(program);
  return program;
}
