// Directory state: one snapshot per table per run. A snapshot is finished complete only
// when every page of every listing behind it arrived; only then do objects that were
// not seen get tombstones (an incomplete listing must never read as "removed").
import { AppError } from '../../errors.js';
import { capabilities } from '../../store/streams.js';
import type { StateTableName } from '../../store/tables.js';
import type { StateRecord } from '../../store/tables.js';
import type { CollectContext, StreamSummary } from '../types.js';
import type { Mapped } from '../types.js';
import { mapApplication, mapAssignment, mapCredentials, mapGroup, mapMember, mapUser } from './records.js';
import { type Requester, RequestFailure } from './requester.js';

export interface DirectoryDeps {
  context: CollectContext;
  sourceId: string;
  requester: Requester;
  graphOrigin: string;
  observedAt: Date;
  metabaseAppIds: readonly string[];
  collectorClientId: string | undefined;
  adminGroupIds: readonly string[];
}

type Json = Record<string, unknown>;

/** The user fields the rules need; most are returned only when selected (spec §3.1). */
const userFields = [
  'id',
  'displayName',
  'userPrincipalName',
  'mail',
  'otherMails',
  'proxyAddresses',
  'accountEnabled',
  'userType',
  'externalUserState',
  'createdDateTime',
  'deletedDateTime',
  'employeeId',
  'employeeHireDate',
  'employeeLeaveDateTime',
  'onPremisesSyncEnabled',
  'onPremisesImmutableId',
  'onPremisesUserPrincipalName',
  'identities',
  'lastPasswordChangeDateTime',
  'signInSessionsValidFromDateTime',
];
const groupFields = [
  'id',
  'displayName',
  'description',
  'groupTypes',
  'securityEnabled',
  'mailEnabled',
  'mail',
  'createdDateTime',
  'onPremisesSyncEnabled',
];
const memberFields = ['id', 'displayName', 'userPrincipalName', 'mail', 'appId'];
const servicePrincipalFields = [
  'id',
  'appId',
  'displayName',
  'servicePrincipalType',
  'accountEnabled',
  'appRoleAssignmentRequired',
  'replyUrls',
  'passwordCredentials',
  'keyCredentials',
  'appOwnerOrganizationId',
];
const applicationFields = [
  'id',
  'appId',
  'displayName',
  'signInAudience',
  'web',
  'spa',
  'publicClient',
  'passwordCredentials',
  'keyCredentials',
  'createdDateTime',
];

interface Snapshot {
  summary: StreamSummary;
  write(rows: readonly Mapped<StateRecord>[], payloads?: readonly unknown[]): Promise<void>;
  finish(complete: boolean): Promise<void>;
}

async function openSnapshot(deps: DirectoryDeps, table: StateTableName): Promise<Snapshot> {
  const { context, sourceId } = deps;
  const writer = await context.evidence.beginSnapshot(table, sourceId, deps.observedAt, { runId: context.runId });
  const summary: StreamSummary = { stream: table, records: 0, inserted: 0, revised: 0, quarantined: 0, coverage: [], notes: [] };
  return {
    summary,
    async write(mapped, payloads) {
      const rows: StateRecord[] = [];
      for (const [i, item] of mapped.entries()) {
        if (item.record) rows.push(item.record);
        if (item.problems.length > 0) {
          summary.quarantined++;
          await context.collection.quarantine({
            sourceId,
            stream: table,
            upstreamId: item.upstreamId ?? null,
            reason: item.problems.join('; '),
            payload: payloads?.[i] ?? null,
            runId: context.runId,
          });
        }
      }
      if (rows.length === 0) return;
      const outcome = await writer.write(rows);
      summary.records += rows.length;
      summary.inserted += outcome.inserted;
      summary.quarantined += outcome.quarantined;
      context.progress.update(table, { records: summary.records });
    },
    async finish(complete) {
      const outcome = await writer.finish({ complete });
      if (outcome.removed > 0) summary.notes.push(`${outcome.removed} no longer present`);
      if (!complete) summary.notes.push('snapshot incomplete: not every page arrived, nothing marked as removed');
      context.progress.done(table, summary);
    },
  };
}

/** Listings restarted after a refused skip token before the snapshot gives up. */
const LISTING_RESTARTS = 5;
/** Extra rounds of the requester's whole retry budget for one page (a 429 storm or an
 *  outage longer than one budget) before the snapshot gives up. */
const PAGE_ROUNDS = 3;

/** One page; a request that ran out of retries is asked again (its nextLink is still
 *  good: only a refused token needs the listing restarted). */
async function getPage(deps: DirectoryDeps, url: string) {
  for (let round = 1; ; round++) {
    try {
      return await deps.requester.get(url);
    } catch (error) {
      if (!(error instanceof RequestFailure && error.kind === 'exhausted') || round >= PAGE_ROUNDS) throw error;
      deps.context.logger.warn({ reason: error.message, round }, 'asking Graph again for a directory page');
    }
  }
}

/** Every page of a listing, in order. A refused skip token restarts the listing from its
 *  first page (tokens are not resumable, spec §4.2); pages seen twice are harmless, the
 *  snapshot writer keeps one version per object. */
async function listAll(deps: DirectoryDeps, firstUrl: string, onPage: (values: Json[]) => Promise<void>): Promise<void> {
  for (let restart = 0; ; restart++) {
    let url: string | undefined = firstUrl;
    try {
      while (url) {
        const page = await getPage(deps, url);
        await onPage(page.value);
        url = page.nextLink;
      }
      return;
    } catch (error) {
      if (!(error instanceof RequestFailure && error.kind === 'skip-token') || restart >= LISTING_RESTARTS) throw error;
    }
  }
}

const q = (path: string, params: Record<string, string>) =>
  `${path}?${Object.entries(params)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`)
    .join('&')}`;

export interface DirectoryOutcome {
  summaries: StreamSummary[];
  failures: string[];
}

/** Runs fill() into a snapshot; a RequestFailure leaves it incomplete and is reported,
 *  an AppError (credential, permission) stops the run. */
async function withSnapshot(
  deps: DirectoryDeps,
  table: StateTableName,
  outcome: DirectoryOutcome,
  fill: (snapshot: Snapshot) => Promise<void>,
): Promise<void> {
  const snapshot = await openSnapshot(deps, table);
  let complete = false;
  try {
    await fill(snapshot);
    complete = true;
  } catch (error) {
    if (!(error instanceof RequestFailure)) {
      await snapshot.finish(false);
      throw error;
    }
    outcome.failures.push(`${table}: ${error.message}`);
  }
  await snapshot.finish(complete);
  outcome.summaries.push(snapshot.summary);
}

export async function collectDirectory(deps: DirectoryDeps): Promise<DirectoryOutcome> {
  const { context, sourceId, graphOrigin } = deps;
  const outcome: DirectoryOutcome = { summaries: [], failures: [] };
  const v1 = `${graphOrigin}/v1.0`;

  // Users and deleted users: one snapshot, so a user moving to the recycle bin is a new
  // version (with deletedDateTime), not a removal.
  await withSnapshot(deps, 'entra_user_version', outcome, async (snapshot) => {
    let fields = userFields;
    const write = (deleted: boolean) => (values: Json[]) =>
      snapshot.write(
        values.map((v) => mapUser(v, deleted)),
        values,
      );
    try {
      await listAll(deps, q(`${v1}/users`, { $select: fields.join(','), $top: '999' }), write(false));
      await context.collection.setCapability(sourceId, capabilities.entraLeaveDates, true, null, context.runId);
    } catch (error) {
      const refused =
        (error instanceof AppError && error.code === 'UPSTREAM_PERMISSION') ||
        (error instanceof RequestFailure && error.kind === 'bad-request');
      if (!refused) throw error;
      // employeeLeaveDateTime needs User-LifeCycleInfo.Read.All; without it the whole
      // request is refused, so ask again without that field (spec §3.1).
      fields = userFields.filter((f) => f !== 'employeeLeaveDateTime');
      await listAll(deps, q(`${v1}/users`, { $select: fields.join(','), $top: '999' }), write(false));
      const reason = `employeeLeaveDateTime refused (${(error as Error).message}); grant User-LifeCycleInfo.Read.All to collect leave dates`;
      await context.collection.setCapability(sourceId, capabilities.entraLeaveDates, false, reason, context.runId);
      snapshot.summary.notes.push(reason);
    }
    await listAll(deps, q(`${v1}/directory/deletedItems/microsoft.graph.user`, { $select: fields.join(','), $top: '999' }), write(true));
  });

  await withSnapshot(deps, 'entra_group_version', outcome, async (snapshot) => {
    await listAll(deps, q(`${v1}/groups`, { $select: groupFields.join(','), $top: '999' }), (values) =>
      snapshot.write(values.map(mapGroup), values),
    );
  });

  // The Metabase app(s) and the collector's own app: service principals, application
  // objects (absent here when the app is registered in another tenant), credentials.
  const metabaseServicePrincipals: Json[] = [];
  const appIds = [
    ...new Set([...deps.metabaseAppIds, ...(deps.collectorClientId ? [deps.collectorClientId] : [])].map((id) => id.toLowerCase())),
  ];
  const credentials = await openSnapshot(deps, 'entra_credential_version');
  let credentialsComplete = false;
  try {
    await withSnapshot(deps, 'entra_application_version', outcome, async (snapshot) => {
      for (const appId of appIds) {
        const filter = `appId eq '${appId}'`;
        const isMetabase = deps.metabaseAppIds.some((id) => id.toLowerCase() === appId);
        let found = 0;
        await listAll(
          deps,
          q(`${v1}/servicePrincipals`, { $filter: filter, $select: servicePrincipalFields.join(',') }),
          async (values) => {
            found += values.length;
            if (isMetabase) metabaseServicePrincipals.push(...values);
            await snapshot.write(
              values.map((v) => mapApplication(v, 'servicePrincipal')),
              values,
            );
            await credentials.write(values.flatMap((v) => mapCredentials(v, 'servicePrincipal')));
          },
        );
        await listAll(deps, q(`${v1}/applications`, { $filter: filter, $select: applicationFields.join(',') }), async (values) => {
          found += values.length;
          await snapshot.write(
            values.map((v) => mapApplication(v, 'application')),
            values,
          );
          await credentials.write(values.flatMap((v) => mapCredentials(v, 'application')));
        });
        if (found === 0) snapshot.summary.notes.push(`no service principal or application with appId ${appId} in this tenant`);
      }
    });
    credentialsComplete = !outcome.failures.some((f) => f.startsWith('entra_application_version'));
  } finally {
    await credentials.finish(credentialsComplete);
    outcome.summaries.push(credentials.summary);
  }

  // Who is assigned to the Metabase app; a group assignment covers the group's direct
  // members only (spec §3.3), so those are listed with transitive = false.
  const assignedGroups = new Set<string>();
  await withSnapshot(deps, 'entra_app_role_assignment_version', outcome, async (snapshot) => {
    for (const sp of metabaseServicePrincipals) {
      await listAll(
        deps,
        q(`${v1}/servicePrincipals/${encodeURIComponent(String(sp['id']))}/appRoleAssignedTo`, { $top: '999' }),
        async (values) => {
          for (const value of values)
            if (value['principalType'] === 'Group' && typeof value['principalId'] === 'string') assignedGroups.add(value['principalId']);
          await snapshot.write(values.map(mapAssignment), values);
        },
      );
    }
  });

  await withSnapshot(deps, 'entra_group_member_version', outcome, async (snapshot) => {
    const direct = new Set<string>();
    for (const groupId of assignedGroups) {
      await listMembers(deps, snapshot, groupId, false, direct);
    }
    for (const groupId of deps.adminGroupIds) {
      await listMembers(deps, snapshot, groupId, true, direct);
    }
  });

  return outcome;
}

async function listMembers(
  deps: DirectoryDeps,
  snapshot: Snapshot,
  groupId: string,
  transitive: boolean,
  direct: Set<string>,
): Promise<void> {
  const relation = transitive ? 'transitiveMembers' : 'members';
  try {
    await listAll(
      deps,
      q(`${deps.graphOrigin}/v1.0/groups/${encodeURIComponent(groupId)}/${relation}`, { $select: memberFields.join(','), $top: '999' }),
      async (values) => {
        // A member listed directly (assigned group) keeps that row; the transitive listing
        // of the same group does not overwrite it.
        const keep = values.filter((v) => !(transitive && direct.has(`${groupId}:${String(v['id'])}`)));
        if (!transitive) for (const v of values) direct.add(`${groupId}:${String(v['id'])}`);
        await snapshot.write(
          keep.map((v) => mapMember(groupId, v, transitive)),
          keep,
        );
      },
    );
  } catch (error) {
    if (error instanceof RequestFailure && error.kind === 'not-found') {
      snapshot.summary.notes.push(`group ${groupId} does not exist (ENTRA_ADMIN_GROUP_IDS or an assignment names it)`);
      return;
    }
    throw error;
  }
}
