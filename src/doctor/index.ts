// `accesstrail doctor`: checks a real configuration end to end (Entra credential,
// permissions, licence, the Metabase app and admin groups; the Metabase database and API;
// the store) and changes nothing anywhere. See docs/doctor.md for each check.
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { type Check, skip } from './check.js';
import { checkAdminGroups, checkMetabaseApps } from './entra-apps.js';
import { credentialExpiry, requestToken, tokenCheck } from './entra-credential.js';
import { licenceCheck, probePermissions, riskCheck } from './entra-permissions.js';
import { doctorCredential, openGraphProbe } from './graph-probe.js';
import { checkMetabase } from './metabase.js';
import { scrubChecks, secretValues } from './render.js';
import { checkStore } from './store.js';

export { type Check, type CheckStatus, summarise } from './check.js';
export { renderJson, renderText } from './render.js';

export interface DoctorOptions {
  /** Extra CA (PEM) to trust for the token authority and Graph (a local emulator). */
  tlsCa?: string;
  now?: Date;
}

async function checkEntra(
  config: Config,
  options: DoctorOptions,
  metabase: { address: string | null; source: string },
  now: Date,
): Promise<Check[]> {
  const configured = config.AZURE_TENANT_ID !== undefined || config.ENTRA_METABASE_APP_IDS.length > 0;
  if (!configured) return [skip('entra', 'Entra source', 'AZURE_TENANT_ID and ENTRA_METABASE_APP_IDS are not set: Entra is not collected')];
  if (!config.AZURE_TENANT_ID) return [tokenCheck(config, { ok: false, message: 'AZURE_TENANT_ID is not set' })];
  const checks: Check[] = [];
  let credential;
  try {
    credential = doctorCredential(config, options);
  } catch (error) {
    return [tokenCheck(config, { ok: false, message: error instanceof AppError ? error.message : (error as Error).message })];
  }
  const token = tokenCheck(config, await requestToken(credential, config.GRAPH_BASE_URL));
  checks.push(token);
  if (token.status !== 'pass') {
    checks.push(skip('entra', 'Graph permissions, licence, Metabase app, admin groups', 'not evaluable without a token'));
    return checks;
  }
  const graph = openGraphProbe(config, options);
  try {
    checks.push(await credentialExpiry(config, graph, now));
    const permissions = await probePermissions(graph);
    checks.push(...permissions.checks);
    const licence = licenceCheck(permissions.signIns);
    checks.push(licence);
    checks.push(riskCheck(permissions.signIns));
    checks.push(
      ...(await checkMetabaseApps(graph, {
        appIds: config.ENTRA_METABASE_APP_IDS,
        tenantId: config.AZURE_TENANT_ID,
        now,
        metabase,
        licenceBlocked: licence.status === 'fail',
      })),
    );
    checks.push(...(await checkAdminGroups(graph, config.ENTRA_ADMIN_GROUP_IDS, config.AZURE_TENANT_ID)));
  } finally {
    graph.close();
  }
  return checks;
}

/** Runs every check; never throws for a failing check (each becomes a line). */
export async function runDoctor(config: Config, options: DoctorOptions = {}): Promise<Check[]> {
  const now = options.now ?? new Date();
  // Metabase first: the Entra redirect-URI check needs Metabase's address (site-url).
  const metabase = await checkMetabase(config);
  const entra = await checkEntra(config, options, metabase.address, now);
  const store = await checkStore(config);
  return scrubChecks([...entra, ...metabase.checks, ...store], secretValues(config));
}
