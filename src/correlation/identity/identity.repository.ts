// Loads the identities and lifecycle facts that linking and terminated intervals need,
// and stores what they produce for a correlation run.
import { type Kysely, type Selectable, sql } from 'kysely';

import type { Database, EntraUserVersionTable, MetabaseAccountVersionTable } from '../../store/schema.js';
import { instantsRelation, stateInstants } from '../state.js';
import { lifecycleActivities, type LifecycleEvent, lifecycleEventsOf, upnChangesOf } from './directory-audits.js';
import { type AccountIdentity, linkAccounts, type LinkResult, type ManualLink, type PersonIdentity } from './linking.js';
import { type TerminatedInterval, terminatedIntervals } from './terminations.js';

/** What linking reads of an Entra user version (its addresses)… */
type AddressColumns = 'user_principal_name' | 'mail' | 'other_mails' | 'proxy_addresses';
/** … and what terminated intervals read (its lifecycle). */
type LifecycleColumns = 'account_enabled' | 'deleted_date_time' | 'employee_leave_date_time';
type PersonRow = Pick<Selectable<EntraUserVersionTable>, 'source_id' | 'upstream_id' | AddressColumns | LifecycleColumns> & {
  vanished_at: Date | null;
};

/** Every person known at as-of: the last listed version of each Entra user, with the
 *  instant it vanished when a later complete snapshot no longer listed it. */
export async function loadPeople(db: Kysely<Database>, asOf: Date): Promise<PersonRow[]> {
  const instants = await stateInstants(db, 'entra_user_version', asOf);
  if (instants.size === 0) return [];
  const { rows } = await sql<PersonRow>`
    with p as (select * from ${instantsRelation(instants)}),
    listed as (
      select distinct on (v.source_id, v.upstream_id) v.*
      from entra_user_version v join p on p.source_id = v.source_id
      where v.present and v.observed_at <= p.at
      order by v.source_id, v.upstream_id, v.observed_at desc
    ),
    latest as (
      select distinct on (v.source_id, v.upstream_id) v.source_id, v.upstream_id, v.present, v.observed_at
      from entra_user_version v join p on p.source_id = v.source_id
      where v.observed_at <= p.at
      order by v.source_id, v.upstream_id, v.observed_at desc
    )
    select l.source_id, l.upstream_id, l.user_principal_name, l.mail, l.other_mails, l.proxy_addresses, l.account_enabled,
           l.deleted_date_time, l.employee_leave_date_time,
           case when not t.present then t.observed_at end as vanished_at
    from listed l join latest t on t.source_id = l.source_id and t.upstream_id = l.upstream_id`.execute(db);
  return rows;
}

interface AuditRow {
  upstream_id: string;
  occurred_at: Date;
  activity: string;
  result: string | null;
  raw: unknown;
}

export async function loadLifecycleAudits(db: Kysely<Database>, asOf: Date): Promise<AuditRow[]> {
  const names = lifecycleActivities.map((name) => name.toLowerCase());
  const { rows } = await sql<AuditRow>`
    select upstream_id, occurred_at, activity, result, raw from entra_directory_audit
    where lower(activity) = any(${names}::text[]) and occurred_at <= ${asOf}
    order by occurred_at, upstream_id`.execute(db);
  return rows;
}

/** For people disabled at as-of: the first version that saw accountEnabled = false
 *  after the last one that saw it true. Each person is read by its primary key (source,
 *  person, time): matched on the person alone, Postgres 15 walked the whole key for every
 *  one of them (0.9–1.2 s for 767 people at 21,065 users, bench/correlate; now ~10 ms). */
async function loadDisabledSince(
  db: Kysely<Database>,
  people: readonly { sourceId: string; personId: string }[],
  asOf: Date,
): Promise<Map<string, Date>> {
  if (people.length === 0) return new Map();
  const { rows } = await sql<{ upstream_id: string; first_false: Date }>`
    select v.upstream_id, min(v.observed_at) as first_false
    from unnest(${people.map((p) => p.sourceId)}::text[], ${people.map((p) => p.personId)}::text[]) as p(source_id, upstream_id)
    join entra_user_version v on v.source_id = p.source_id and v.upstream_id = p.upstream_id
    where v.present and v.account_enabled = false and v.observed_at <= ${asOf}
      and v.observed_at > coalesce((
        select max(w.observed_at) from entra_user_version w
        where w.source_id = v.source_id and w.upstream_id = v.upstream_id and w.present and w.account_enabled and w.observed_at <= ${asOf}
      ), '-infinity'::timestamptz)
    group by v.upstream_id`.execute(db);
  return new Map(rows.map((row) => [row.upstream_id, new Date(row.first_false)]));
}

type AccountRow = Pick<Selectable<MetabaseAccountVersionTable>, 'source_id' | 'upstream_id' | 'email' | 'is_human'>;

/** Every Metabase account known at as-of (deleted ones too: their query rows remain). */
export async function loadAccounts(db: Kysely<Database>, asOf: Date): Promise<AccountRow[]> {
  const instants = await stateInstants(db, 'metabase_account_version', asOf);
  if (instants.size === 0) return [];
  const { rows } = await sql<AccountRow>`
    select distinct on (v.source_id, v.upstream_id) v.source_id, v.upstream_id, v.email, v.is_human
    from metabase_account_version v join ${instantsRelation(instants)} on p.source_id = v.source_id
    where v.present and v.observed_at <= p.at
    order by v.source_id, v.upstream_id, v.observed_at desc`.execute(db);
  return rows;
}

export async function loadManualLinks(db: Kysely<Database>, asOf: Date): Promise<ManualLink[]> {
  const rows = await db
    .selectFrom('manual_identity_link')
    .select(['metabase_source_id', 'account_id', 'person_id'])
    .where('created_at', '<=', asOf)
    .where((eb) => eb.or([eb('revoked_at', 'is', null), eb('revoked_at', '>', asOf)]))
    .orderBy('created_at')
    .execute();
  return rows.map((row) => ({
    metabaseSourceId: row.metabase_source_id,
    accountId: Number(row.account_id),
    personId: row.person_id,
    entraSourceId: null,
  }));
}

/** Rows per insert statement: 9 columns × 5 000 rows stays well under Postgres' limit of
 *  65 535 bound parameters per statement. */
const INSERT_ROWS = 5000;

/** Writes rows in statements of at most INSERT_ROWS rows each, one after the other. */
async function insertInParts<T>(rows: readonly T[], insert: (part: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_ROWS) await insert(rows.slice(i, i + INSERT_ROWS));
}

export interface IdentityState {
  links: LinkResult[];
  intervals: TerminatedInterval[];
  people: number;
  accounts: number;
  /** Names for finding subjects. */
  upnOf: Map<string, string | null>;
  emailOf: Map<string, string | null>;
}

/** Links every account and computes every person's terminated intervals, as of `asOf`,
 *  and stores both for the run. */
export async function resolveIdentities(db: Kysely<Database>, runId: number, asOf: Date): Promise<IdentityState> {
  const [peopleRows, accountRows, manual, audits] = await Promise.all([
    loadPeople(db, asOf),
    loadAccounts(db, asOf),
    loadManualLinks(db, asOf),
    loadLifecycleAudits(db, asOf),
  ]);

  const earlierUpns = new Map<string, string[]>();
  const events = new Map<string, LifecycleEvent[]>();
  for (const audit of audits) {
    const record = {
      upstreamId: audit.upstream_id,
      occurredAt: new Date(audit.occurred_at),
      activity: audit.activity,
      result: audit.result,
      raw: audit.raw,
    };
    for (const change of upnChangesOf(record))
      earlierUpns.set(change.personId, [...(earlierUpns.get(change.personId) ?? []), change.oldUpn]);
    for (const event of lifecycleEventsOf(record)) events.set(event.personId, [...(events.get(event.personId) ?? []), event]);
  }

  const people: PersonIdentity[] = peopleRows.map((row) => ({
    sourceId: row.source_id,
    personId: row.upstream_id,
    upn: row.user_principal_name,
    mail: row.mail,
    otherMails: row.other_mails ?? [],
    proxyAddresses: row.proxy_addresses ?? [],
    deleted: row.deleted_date_time !== null,
    earlierUpns: earlierUpns.get(row.upstream_id) ?? [],
  }));
  const entraSourceOf = new Map(peopleRows.map((row) => [row.upstream_id, row.source_id]));
  const accounts: AccountIdentity[] = accountRows.map((row) => ({
    metabaseSourceId: row.source_id,
    accountId: Number(row.upstream_id),
    email: row.email,
    isHuman: row.is_human !== false,
  }));
  const links = linkAccounts(
    accounts,
    people,
    manual.map((link) => ({ ...link, entraSourceId: entraSourceOf.get(link.personId) ?? null })),
  );

  const disabledNow = peopleRows
    .filter((row) => row.account_enabled === false)
    .map((row) => ({ sourceId: row.source_id, personId: row.upstream_id }));
  const disabledSince = await loadDisabledSince(db, disabledNow, asOf);
  const intervals = peopleRows.flatMap((row) =>
    terminatedIntervals(
      {
        personId: row.upstream_id,
        events: events.get(row.upstream_id) ?? [],
        deletedAt: row.deleted_date_time ? new Date(row.deleted_date_time) : null,
        vanishedAt: row.vanished_at ? new Date(row.vanished_at) : null,
        leaveAt: row.employee_leave_date_time ? new Date(row.employee_leave_date_time) : null,
        disabledSeenAt: disabledSince.get(row.upstream_id) ?? null,
      },
      asOf,
    ),
  );

  const linkRows = links.map((link) => ({
    run_id: runId,
    metabase_source_id: link.metabaseSourceId,
    account_id: link.accountId,
    status: link.status,
    person_id: link.personId,
    entra_source_id: link.entraSourceId,
    method: link.method,
    matched_value: link.matchedValue,
    candidates: link.candidates,
  }));
  const intervalRows = intervals.map((interval) => ({
    run_id: runId,
    entra_source_id: entraSourceOf.get(interval.personId) ?? '',
    person_id: interval.personId,
    started_at: interval.start,
    ended_at: interval.end,
    reason: interval.reason,
    approximate: interval.approximate,
    evidence: JSON.stringify(interval.evidence),
  }));
  await db.transaction().execute(async (trx) => {
    await insertInParts(linkRows, (part) => trx.insertInto('identity_link').values(part).execute());
    await insertInParts(intervalRows, (part) =>
      trx
        .insertInto('person_terminated_interval')
        .values(part)
        .onConflict((oc) => oc.doNothing())
        .execute(),
    );
  });
  // Freshly written: without statistics the planner takes these tables for a few dozen
  // rows and joins every account with every link (bench/correlate: 40 s → well under 1 s).
  await sql`analyze identity_link`.execute(db);
  await sql`analyze person_terminated_interval`.execute(db);
  return {
    links,
    intervals,
    people: peopleRows.length,
    accounts: accountRows.length,
    upnOf: new Map(peopleRows.map((row) => [row.upstream_id, row.user_principal_name?.toLowerCase() ?? null])),
    emailOf: new Map(accountRows.map((row) => [`${row.source_id}|${row.upstream_id}`, row.email])),
  };
}
