// One archive run that kills itself with SIGKILL at a step (test/integration/store-archive-crash.test.ts):
//   node --import tsx test/support/archive-crash.ts <database url> <data dir> <now> <step>
import { parseConfig } from '../../src/config.js';
import { runEvidenceArchive } from '../../src/jobs/evidence-retention.js';
import { createLogger } from '../../src/logger.js';
import { openStore } from '../../src/store/database.js';

const [url, dataDir, now, step] = process.argv.slice(2) as [string, string, string, string];
const config = parseConfig({ DATABASE_URL: url, ACCESSTRAIL_DATA_DIR: dataDir, ACCESSTRAIL_EVIDENCE_RETENTION_MONTHS: '12' }, dataDir);
const store = await openStore({ databaseUrl: url, poolSize: 2 });
await runEvidenceArchive(
  { store, config, logger: createLogger({ level: 'silent' }), now: () => new Date(now) },
  {
    onStep: (reached) => {
      if (reached === step) process.kill(process.pid, 'SIGKILL');
    },
  },
);
await store.close();
process.stdout.write('finished without reaching the step\n');
