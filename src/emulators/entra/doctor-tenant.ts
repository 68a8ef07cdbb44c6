// A tenant for `accesstrail doctor` tests and demos: the sample organisation, with the
// collector app's own secret described as Graph describes it (passwordCredentials with
// the secret's first three characters as `hint`, and an end date the token endpoint
// enforces), and the Metabase app's redirect URIs pointing at a given Metabase address.
// The failure scenarios are the emulator's existing knobs plus dataset edits:
//   no P1/P2 licence   setFaults({ licence: true })     (403 on sign-ins)
//   no P2              setFaults({ hideRisk: true })    (risk fields "hidden")
//   missing permission setFaults({ forbidden: ['auditLogs/directoryAudits'] })
//   expired secret     doctorTenantDataset({ secretEndDateTime: <past> })
//   stale redirect URI doctorTenantDataset({ redirectUris: ['https://old-host/auth/sso'] })
import type { EntraDataset } from './dataset.js';
import { SAMPLE_COLLECTOR_CLIENT_ID, SAMPLE_COLLECTOR_SECRET, SAMPLE_METABASE_APP_ID, sampleDataset, sampleGuid } from './sample.js';

export interface DoctorTenantOptions {
  now: Date;
  /** Where Metabase lives; its SAML callback is registered unless `redirectUris` is given. */
  metabaseUrl: string;
  redirectUris?: string[];
  /** End of the collector's secret (default: 200 days after now). */
  secretEndDateTime?: Date;
  /** Sign-ins to the Metabase app in the last days (default 20; 0 = none). */
  signIns?: number;
}

export function doctorTenantDataset(options: DoctorTenantOptions): EntraDataset {
  const dataset = sampleDataset({
    now: options.now,
    days: 5,
    signIns: options.signIns ?? 20,
    otherAppSignIns: options.signIns === 0 ? 0 : 5,
  });
  const secretEnd = (options.secretEndDateTime ?? new Date(options.now.getTime() + 200 * 86_400_000)).toISOString();
  const redirectUris = options.redirectUris ?? [`${options.metabaseUrl.replace(/\/+$/, '')}/auth/sso`];
  for (const app of dataset.applications) {
    if (app['appId'] === SAMPLE_METABASE_APP_ID) app['web'] = { redirectUris };
    if (app['appId'] === SAMPLE_COLLECTOR_CLIENT_ID) {
      app['passwordCredentials'] = [
        {
          keyId: sampleGuid('collector-secret', 1),
          displayName: 'accesstrail',
          // Graph's passwordCredential.hint: the first three characters of the secret.
          hint: SAMPLE_COLLECTOR_SECRET.slice(0, 3),
          startDateTime: new Date(options.now.getTime() - 100 * 86_400_000).toISOString(),
          endDateTime: secretEnd,
          customKeyIdentifier: null,
          secretText: null,
        },
      ];
    }
  }
  for (const sp of dataset.servicePrincipals) {
    if (sp['appId'] === SAMPLE_METABASE_APP_ID) sp['replyUrls'] = redirectUris;
    sp['appOwnerOrganizationId'] = null;
  }
  dataset.clients = dataset.clients.map((c) => (c.clientId === SAMPLE_COLLECTOR_CLIENT_ID ? { ...c, secretEndDateTime: secretEnd } : c));
  return dataset;
}
