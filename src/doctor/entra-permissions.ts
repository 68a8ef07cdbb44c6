// Graph permission, licence and risk checks: every endpoint the collector calls is asked
// for one record ($top=1), so a missing application permission shows as the 403 of that
// one endpoint, before a collection run stops on it.
//
// Licence: without Entra ID P1/P2 Graph answers sign-in requests with 403
// {"code":"Authentication_RequestFromNonPremiumTenantOrB2CTenant","message":"Neither
// tenant is B2C or tenant doesn't have premium license"} (seen in
// microsoftgraph/microsoft-graph-docs#4336, turbot/steampipe-plugin-azuread#98,
// invictus-ir/Microsoft-Extractor-Suite#202; message quoted in MicrosoftDocs/entra-docs
// howto-analyze-activity-logs-with-microsoft-graph.md). Risk: without P2 the risk fields
// of a sign-in come back as "hidden" (Graph signIn resource, riskLevelDuringSignIn).
import { AppError } from '../errors.js';
import { type Check, fail, failOrWarn, pass, skip, warn } from './check.js';
import type { GraphProbe, Json, ProbeOutcome } from './graph-probe.js';

export interface EndpointProbe {
  /** Graph path relative to the origin, with $top=1. */
  path: string;
  /** What the collector reads there. */
  reads: string;
  permission: string;
  /** Optional probes warn instead of failing (the collector degrades gracefully). */
  required: boolean;
  /** What the collector does without it (optional probes). */
  without?: string;
}

/** The endpoints of src/collectors/entra (log-streams.ts, directory.ts). Group members
 *  and app role assignments are probed per group / app in entra-apps.ts. */
export const endpointProbes: readonly EndpointProbe[] = [
  { path: 'v1.0/auditLogs/signIns?$top=1', reads: 'sign-ins (v1.0)', permission: 'AuditLog.Read.All', required: true },
  {
    path: `beta/auditLogs/signIns?$top=1&$filter=${encodeURIComponent("signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')")}`,
    reads: 'interactive and non-interactive sign-ins (beta)',
    permission: 'AuditLog.Read.All',
    required: false,
    without:
      'the collector falls back to v1.0: interactive sign-ins only, without authenticationRequirement (single-factor-sign-in is not evaluable)',
  },
  { path: 'v1.0/auditLogs/directoryAudits?$top=1', reads: 'directory audits', permission: 'AuditLog.Read.All', required: true },
  { path: 'v1.0/users?$top=1&$select=id,userPrincipalName,accountEnabled', reads: 'users', permission: 'User.Read.All', required: true },
  {
    path: 'v1.0/users?$top=1&$select=id,employeeLeaveDateTime',
    reads: "users' leave dates",
    permission: 'User-LifeCycleInfo.Read.All',
    required: false,
    without: 'users are collected without employeeLeaveDateTime (access-after-termination relies on disables and deletions only)',
  },
  { path: 'v1.0/directory/deletedItems/microsoft.graph.user?$top=1', reads: 'deleted users', permission: 'User.Read.All', required: true },
  { path: 'v1.0/groups?$top=1&$select=id', reads: 'groups', permission: 'Group.Read.All', required: true },
  { path: 'v1.0/servicePrincipals?$top=1&$select=id', reads: 'service principals', permission: 'Application.Read.All', required: true },
  { path: 'v1.0/applications?$top=1&$select=id', reads: 'app registrations', permission: 'Application.Read.All', required: true },
];

const isLicenceError = (outcome: ProbeOutcome) =>
  !outcome.ok && outcome.error instanceof AppError && outcome.error.code === 'UPSTREAM_LICENCE';
const isPermissionError = (outcome: ProbeOutcome) =>
  !outcome.ok && outcome.error instanceof AppError && outcome.error.code === 'UPSTREAM_PERMISSION';

/** One probe's line. Pure: the outcome is what Graph answered. */
export function permissionCheck(probe: EndpointProbe, outcome: ProbeOutcome): Check {
  const name = `Graph ${probe.permission}: ${probe.reads}`;
  const endpoint = `GET /${probe.path.split('?')[0]}`;
  if (outcome.ok) return pass('entra', name, `${endpoint} answers`);
  if (isLicenceError(outcome)) return skip('entra', name, `${endpoint} needs the licence first (see the licence check)`);
  if (isPermissionError(outcome)) {
    return failOrWarn(
      probe.required,
      'entra',
      name,
      `${endpoint} is denied (403)${probe.without ? `; ${probe.without}` : ''}`,
      `grant the collector app the application permission ${probe.permission} and an admin consent (App registrations → API permissions → Grant admin consent)`,
    );
  }
  return failOrWarn(
    probe.required,
    'entra',
    name,
    `${endpoint} failed: ${outcome.error.message}${probe.without ? `; ${probe.without}` : ''}`,
    'check GRAPH_BASE_URL and the network path to Graph; rerun the doctor',
  );
}

/** Sign-in logs need Entra ID P1 or P2. Pure: the v1.0 sign-ins probe's outcome. */
export function licenceCheck(signIns: ProbeOutcome): Check {
  const name = 'licence allows sign-in logs (Entra ID P1/P2)';
  if (signIns.ok) return pass('entra', name, 'sign-in logs are readable');
  if (isLicenceError(signIns)) {
    return fail(
      'entra',
      name,
      `Graph refused sign-ins with 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant ("Neither tenant is B2C or tenant doesn't have premium license")`,
      'license the tenant for Microsoft Entra ID P1 or P2 (sign-in logs are not available on Free); meanwhile import the admin center downloads with `accesstrail import`',
    );
  }
  return skip('entra', name, `not evaluable: sign-ins could not be read (${signIns.error.message})`);
}

const riskFields = ['riskLevelDuringSignIn', 'riskLevelAggregated', 'riskDetail'];

/** Risk fields need P2; without it Graph serves them as "hidden". Pure: sign-in records. */
export function riskCheck(signIns: ProbeOutcome): Check {
  const name = 'licence allows risk fields (Entra ID P2)';
  if (!signIns.ok) return skip('entra', name, 'not evaluable: sign-ins could not be read');
  const record = signIns.value[0];
  if (!record) return skip('entra', name, 'not evaluable: the tenant has no sign-ins to look at');
  const hidden = riskFields.filter((f) => record[f] === 'hidden');
  if (hidden.length > 0) {
    return warn(
      'entra',
      name,
      `sign-ins carry ${hidden.join(', ')} = "hidden": the tenant has no Entra ID P2, so risky-sign-in is not evaluable`,
      'license Entra ID P2 to evaluate risky sign-ins (optional)',
    );
  }
  if (record['riskLevelDuringSignIn'] === undefined) return skip('entra', name, 'not evaluable: the sign-in carries no risk fields');
  return pass('entra', name, `risk fields are served (riskLevelDuringSignIn = "${String(record['riskLevelDuringSignIn'])}")`);
}

export interface PermissionOutcomes {
  checks: Check[];
  /** The v1.0 sign-ins probe, reused by the licence and risk checks. */
  signIns: ProbeOutcome;
}

export async function probePermissions(graph: GraphProbe): Promise<PermissionOutcomes> {
  const checks: Check[] = [];
  let signIns: ProbeOutcome | undefined;
  for (const probe of endpointProbes) {
    const outcome = await graph.get(probe.path);
    if (probe.path.startsWith('v1.0/auditLogs/signIns')) signIns = outcome;
    checks.push(permissionCheck(probe, outcome));
  }
  return { checks, signIns: signIns! };
}

export type { Json };
