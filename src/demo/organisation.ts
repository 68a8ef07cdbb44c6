// A synthetic organisation, "Contoso", served by both emulators: the same people in
// Entra ID and in Metabase, over the last 60 days, with one deliberate case for every
// rule (and near-misses that must NOT raise a finding). `expectedFindings` lists what
// a correct correlation finds: the end-to-end test holds the pipeline to it exactly.
import { createHash } from 'node:crypto';

import { emptyDataset as emptyEntra, type EntraDataset, type GraphObject } from '../emulators/entra/index.js';
import { emptyDataset as emptyMetabase, type MetabaseDataset } from '../emulators/metabase/index.js';
import { seededRandom } from '../emulators/seeded-random.js';

export const DEMO_TENANT_ID = '72f988bf-0000-4000-8000-00000000c0de';
export const DEMO_METABASE_APP_ID = '5e2b7c1a-4d3f-4a8b-9c6d-0e1f2a3b4c5d';
export const DEMO_COLLECTOR_CLIENT_ID = '0c011ec7-0000-4000-8000-000000000001';
export const DEMO_COLLECTOR_SECRET = 'demo-collector-secret';
export const DEMO_ADMIN_GROUP_ID = 'ad000000-0000-4000-8000-000000000001';
const NESTED_ADMIN_GROUP_ID = 'ad000000-0000-4000-8000-000000000002';
const METABASE_USERS_GROUP_ID = 'ad000000-0000-4000-8000-000000000003';
const APP_OBJECT_ID = 'a0000000-0000-4000-8000-000000000001';
const SERVICE_PRINCIPAL_ID = 'a0000000-0000-4000-8000-000000000002';
const COLLECTOR_APP_OBJECT_ID = 'a0000000-0000-4000-8000-000000000003';
const DOMAIN = 'contoso.example';

export const DEMO_DAYS = 60;

export interface ExpectedFinding {
  rule: string;
  /** personId, Metabase account id, credential id or "source stream", as the finding's subject names it. */
  subject: string;
}

export interface DemoOrganisation {
  now: Date;
  start: Date;
  entra: EntraDataset;
  metabase: MetabaseDataset;
  expectedFindings: ExpectedFinding[];
}

type Role =
  | 'normal'
  | 'leaver-disabled' // access after termination, orphaned, password login after SSO was cut
  | 'leaver-hr' // HR leave date passed, account still enabled and used
  | 'rehired' // disabled then re-enabled; used only after: no finding
  | 'admin-justified' // superuser, transitive member of the admin group
  | 'admin-unjustified'
  | 'dormant'
  | 'single-factor'
  | 'risky'
  | 'burst'
  | 'guest'
  | 'renamed'
  | 'ambiguous-a'
  | 'ambiguous-b';

interface Person {
  key: string;
  objectId: string;
  accountId: number;
  role: Role;
  first: string;
  last: string;
  upn: string;
  email: string; // as Metabase holds it
  mail: string | null;
  otherMails: string[];
  userType: 'Member' | 'Guest';
}

function guid(label: string): string {
  const hex = createHash('sha256').update(label).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const isoZ = (ms: number) => new Date(ms).toISOString();
const DAY = 86_400_000;
const MINUTE = 60_000;

export function demoOrganisation(options: { now: Date; normalPeople?: number; seed?: number }): DemoOrganisation {
  const now = options.now.getTime();
  const start = now - DEMO_DAYS * DAY;
  const rnd = seededRandom(options.seed ?? 7);
  const people: Person[] = [];
  let nextAccount = 2; // 1 is the Metabase admin who set the instance up
  const add = (key: string, role: Role, first: string, last: string, fields: Partial<Person> = {}) => {
    const upn = fields.upn ?? `${first.toLowerCase()}.${last.toLowerCase()}@${DOMAIN}`;
    const person: Person = {
      key,
      objectId: guid(`person:${key}`),
      accountId: nextAccount++,
      role,
      first,
      last,
      upn,
      email: fields.email ?? upn.toLowerCase(),
      mail: fields.mail === undefined ? upn.toLowerCase() : fields.mail,
      otherMails: fields.otherMails ?? [],
      userType: fields.userType ?? 'Member',
    };
    people.push(person);
    return person;
  };

  const firstNames = [
    'Liam',
    'Noor',
    'Mateo',
    'Yuki',
    'Amara',
    'Lars',
    'Priya',
    'Tomas',
    'Chen',
    'Fatima',
    'Jonas',
    'Elena',
    'Kwame',
    'Sofia',
    'Ravi',
    'Ingrid',
    'Diego',
    'Hana',
    'Omar',
    'Clara',
  ];
  const normalCount = options.normalPeople ?? 16;
  for (let i = 0; i < normalCount; i++) add(`normal-${i}`, 'normal', firstNames[i % firstNames.length]!, `Example${i}`);
  const ada = add('ada', 'leaver-disabled', 'Ada', 'Lovelace');
  const bob = add('bob', 'leaver-hr', 'Bob', 'Marley');
  const carol = add('carol', 'rehired', 'Carol', 'Shaw');
  const frank = add('frank', 'admin-justified', 'Frank', 'Admin');
  const grace = add('grace', 'admin-unjustified', 'Grace', 'Hopper');
  const heidi = add('heidi', 'dormant', 'Heidi', 'Klum');
  const ivan = add('ivan', 'single-factor', 'Ivan', 'Petrov');
  const judy = add('judy', 'risky', 'Judy', 'Garland');
  const mallory = add('mallory', 'burst', 'Mallory', 'Malicious');
  const oscar = add('oscar', 'guest', 'Oscar', 'Partner', {
    upn: `oscar_partner.example#EXT#@${DOMAIN}`,
    email: 'oscar@partner.example',
    mail: 'oscar@partner.example',
    userType: 'Guest',
  });
  // Metabase still knows Peggy by her old address; Entra renamed her (audit below).
  const peggy = add('peggy', 'renamed', 'Peggy', 'Carter', {
    upn: `margaret.carter@${DOMAIN}`,
    email: `peggy.carter@${DOMAIN}`,
    mail: `margaret.carter@${DOMAIN}`,
  });
  // Two Entra people claim eve@: her Metabase account cannot be linked.
  const eve1 = add('eve-a', 'ambiguous-a', 'Eve', 'Adams', { email: `eve@${DOMAIN}`, mail: `eve@${DOMAIN}` });
  const eve2 = add('eve-b', 'ambiguous-b', 'Eve', 'Baker', { otherMails: [`eve@${DOMAIN}`] });
  eve2.accountId = -1; // Eve Baker has no Metabase account of her own.

  const entra: EntraDataset = { ...emptyEntra(), clients: [{ clientId: DEMO_COLLECTOR_CLIENT_ID, secret: DEMO_COLLECTOR_SECRET }] };
  const metabase = emptyMetabase();
  // The instance keeps its logs 55 days (MB_AUDIT_MAX_RETENTION_DAYS, here as the app DB
  // setting row), so the query executions it still holds begin 5 days into the window.
  metabase.setting = [{ key: 'audit-max-retention-days', value: String(DEMO_DAYS - 5) }];

  // ---- Termination events -----------------------------------------------------------
  const adaDisabledAt = now - 20 * DAY;
  const bobLeaveAt = now - 10 * DAY;
  const carolDisabledAt = now - 40 * DAY;
  const carolEnabledAt = now - 38 * DAY;
  const audit = (activity: string, at: number, person: Person, modified: object[] = []) => {
    entra.directoryAudits.push({
      id: `Directory_${guid(`audit:${activity}:${person.key}:${at}`)}`,
      category: 'UserManagement',
      correlationId: guid(`corr:${person.key}:${at}`),
      result: 'success',
      resultReason: '',
      activityDisplayName: activity,
      activityDateTime: isoZ(at),
      loggedByService: 'Core Directory',
      operationType: 'Update',
      initiatedBy: {
        user: { id: frank.objectId, displayName: 'Frank Admin', userPrincipalName: frank.upn, ipAddress: '198.51.100.10' },
        app: null,
      },
      targetResources: [
        {
          id: person.objectId,
          displayName: `${person.first} ${person.last}`,
          type: 'User',
          userPrincipalName: person.upn,
          modifiedProperties: modified,
        },
      ],
      additionalDetails: [],
    });
  };
  audit('Disable account', adaDisabledAt, ada);
  audit('Update user', carolDisabledAt, carol, [{ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' }]);
  audit('Enable account', carolEnabledAt, carol);
  audit('Update user', now - 45 * DAY, peggy, [
    { displayName: 'UserPrincipalName', oldValue: `["peggy.carter@${DOMAIN}"]`, newValue: `["margaret.carter@${DOMAIN}"]` },
    { displayName: 'Included Updated Properties', oldValue: null, newValue: '"UserPrincipalName"' },
  ]);
  audit('Reset password', now - 30 * DAY, ivan);

  for (const person of people) {
    entra.users.push({
      id: person.objectId,
      displayName: `${person.first} ${person.last}`,
      userPrincipalName: person.upn,
      mail: person.mail,
      otherMails: person.otherMails,
      proxyAddresses: person.mail ? [`SMTP:${person.mail}`, `SIP:${person.mail}`] : [],
      accountEnabled: person.role !== 'leaver-disabled',
      userType: person.userType,
      createdDateTime: isoZ(now - 400 * DAY),
      deletedDateTime: null,
      employeeLeaveDateTime: person.role === 'leaver-hr' ? isoZ(bobLeaveAt) : null,
    });
  }

  // ---- Groups, app, credentials ---------------------------------------------------
  /** A credential of an application as Graph lists it, valid from `sinceDays` before now
   *  to `untilDays` after (the stale-credential cases are told by these two numbers). */
  const credential = (label: string, displayName: string, sinceDays: number, untilDays: number, more: GraphObject) => ({
    keyId: guid(label),
    displayName,
    startDateTime: isoZ(now - sinceDays * DAY),
    endDateTime: isoZ(now + untilDays * DAY),
    ...more,
  });
  entra.groups.push(
    { id: DEMO_ADMIN_GROUP_ID, displayName: 'Metabase administrators', members: [NESTED_ADMIN_GROUP_ID] },
    { id: NESTED_ADMIN_GROUP_ID, displayName: 'BI platform team', members: [frank.objectId] },
    { id: METABASE_USERS_GROUP_ID, displayName: 'Metabase users', members: people.map((p) => p.objectId) },
  );
  entra.applications.push(
    {
      id: APP_OBJECT_ID,
      appId: DEMO_METABASE_APP_ID,
      displayName: 'Metabase',
      web: { redirectUris: ['https://metabase.contoso.example/auth/sso'] },
      passwordCredentials: [
        credential('secret:old', 'SSO client secret (2026)', 120, 245, { hint: 'Ab1' }),
        credential('secret:fresh', 'SSO client secret (rotation)', 20, 345, { hint: 'Cd2' }),
      ],
      keyCredentials: [credential('cert:expiring', 'CN=SAML signing', 60, 10, { type: 'AsymmetricX509Cert', usage: 'Verify' })],
    },
    {
      id: COLLECTOR_APP_OBJECT_ID,
      appId: DEMO_COLLECTOR_CLIENT_ID,
      displayName: 'accesstrail collector',
      web: { redirectUris: [] },
      passwordCredentials: [credential('secret:collector', 'collector', 10, 170, { hint: 'Ef3' })],
      keyCredentials: [],
    },
  );
  entra.servicePrincipals.push({
    id: SERVICE_PRINCIPAL_ID,
    appId: DEMO_METABASE_APP_ID,
    displayName: 'Metabase',
    replyUrls: ['https://metabase.contoso.example/auth/sso'],
    passwordCredentials: [],
    keyCredentials: [],
  });
  entra.appRoleAssignments.push({
    id: guid('assignment:group'),
    appRoleId: '00000000-0000-0000-0000-000000000000',
    principalId: METABASE_USERS_GROUP_ID,
    principalType: 'Group',
    principalDisplayName: 'Metabase users',
    resourceId: SERVICE_PRINCIPAL_ID,
    resourceDisplayName: 'Metabase',
    createdDateTime: isoZ(now - 300 * DAY),
  });

  // ---- Metabase accounts, groups ----------------------------------------------------
  metabase.permissions_group.push(
    { id: 1, name: 'All Users', magic_group_type: 'all-internal-users' },
    { id: 2, name: 'Administrators', magic_group_type: 'admin' },
  );
  let membershipId = 1;
  const joinGroup = (userId: number, groupId: number) =>
    metabase.permissions_group_membership.push({ id: membershipId++, user_id: userId, group_id: groupId, is_group_manager: false });
  // The instance's first admin: a break-glass password account, linked to nobody.
  metabase.core_user.push({
    id: 1,
    email: `metabase-admin@${DOMAIN}`,
    first_name: 'Metabase',
    last_name: 'Setup',
    date_joined: isoZ(now - 500 * DAY),
    last_login: isoZ(now - 3 * DAY),
    is_superuser: true,
    is_active: true,
    sso_source: null,
    type: 'personal',
    password: '$2a$10$notarealhash',
  });
  joinGroup(1, 1);
  joinGroup(1, 2);
  const dan = { accountId: nextAccount++, email: 'dan@freelance.example' };
  metabase.core_user.push({
    id: dan.accountId,
    email: dan.email,
    first_name: 'Dan',
    last_name: 'Contractor',
    date_joined: isoZ(now - 90 * DAY),
    last_login: null,
    is_superuser: false,
    is_active: true,
    sso_source: null,
    type: 'personal',
  });
  joinGroup(dan.accountId, 1);
  for (const person of people) {
    if (person.accountId < 0) continue;
    const superuser = person.role === 'admin-justified' || person.role === 'admin-unjustified';
    metabase.core_user.push({
      id: person.accountId,
      email: person.email,
      first_name: person.first,
      last_name: person.last,
      date_joined: isoZ(now - (person.role === 'dormant' ? 200 : 300) * DAY),
      last_login: null,
      is_superuser: superuser,
      is_active: true,
      sso_source: 'saml',
      type: 'personal',
      login_attributes: JSON.stringify({ 'http://schemas.microsoft.com/identity/claims/objectidentifier': person.objectId }),
    });
    joinGroup(person.accountId, 1);
    if (superuser) joinGroup(person.accountId, 2);
  }
  // An API key, with its service user, created long ago: a stale credential.
  const keyUserId = nextAccount++;
  metabase.core_user.push({
    id: keyUserId,
    email: `api-key-user-${guid('key-user')}@api-key.invalid`,
    first_name: 'Nightly export',
    last_name: null,
    date_joined: isoZ(now - 200 * DAY),
    is_superuser: false,
    is_active: true,
    sso_source: null,
    type: 'api-key',
  });
  joinGroup(keyUserId, 1);
  metabase.api_key.push({
    id: 1,
    user_id: keyUserId,
    key: '$2a$10$notarealhashofthekey',
    key_prefix: 'mb_NtEx',
    creator_id: 1,
    created_at: isoZ(now - 200 * DAY),
    updated_at: isoZ(now - 200 * DAY),
    name: 'Nightly export',
    updated_by_id: 1,
  });

  // ---- Sign-ins, logins, queries ----------------------------------------------------
  let loginId = 1;
  let sessionSeq = 1;
  let authIdentityId = 1;
  let queryId = 1;
  let viewId = 1;
  // auth_identity is unique per (user, provider), as in Metabase.
  const identities = new Map<string, number>();
  const identityOf = (accountId: number, provider: 'saml' | 'password', email: string) => {
    const key = `${accountId}|${provider}`;
    const known = identities.get(key);
    if (known !== undefined) return known;
    const id = authIdentityId++;
    metabase.auth_identity.push({
      id,
      user_id: accountId,
      provider,
      provider_id: email,
      created_at: isoZ(now - 300 * DAY),
      updated_at: isoZ(now - 300 * DAY),
      last_used_at: null,
    });
    identities.set(key, id);
    return id;
  };
  const lastLogin = new Map<number, number>();
  const signIn = (person: Person, at: number, fields: Partial<GraphObject> & { errorCode?: number } = {}) => {
    const errorCode = fields.errorCode ?? 0;
    const requirement = person.role === 'single-factor' ? 'singleFactorAuthentication' : 'multiFactorAuthentication';
    entra.signIns.push({
      id: guid(`signin:${person.key}:${at}:${errorCode}`),
      createdDateTime: isoZ(at),
      userDisplayName: `${person.first} ${person.last}`,
      userPrincipalName: person.userType === 'Guest' ? person.email : person.upn.toLowerCase(),
      userId: person.objectId,
      appId: DEMO_METABASE_APP_ID,
      appDisplayName: 'Metabase',
      ipAddress: `203.0.113.${(person.accountId % 200) + 1}`,
      clientAppUsed: 'Browser',
      correlationId: guid(`signin-corr:${person.key}:${at}`),
      conditionalAccessStatus: errorCode === 0 ? 'success' : 'notApplied',
      isInteractive: true,
      riskDetail: 'none',
      riskLevelAggregated: 'none',
      riskLevelDuringSignIn: 'none',
      riskState: 'none',
      riskEventTypes_v2: [],
      resourceDisplayName: 'Metabase',
      resourceId: SERVICE_PRINCIPAL_ID,
      status: {
        errorCode,
        failureReason: errorCode === 0 ? 'Other.' : errorCode === 50126 ? 'Invalid username or password.' : 'Interrupted',
        additionalDetails: null,
      },
      deviceDetail: {
        deviceId: '',
        displayName: '',
        operatingSystem: 'Windows 10',
        browser: 'Edge 126.0.0',
        isCompliant: false,
        isManaged: false,
        trustType: '',
      },
      location: {
        city: 'Rotterdam',
        state: 'Zuid-Holland',
        countryOrRegion: 'NL',
        geoCoordinates: { altitude: null, latitude: 51.92, longitude: 4.48 },
      },
      signInEventTypes: ['interactiveUser'],
      authenticationRequirement: requirement,
      authenticationDetails: [
        {
          authenticationStepDateTime: isoZ(at),
          authenticationMethod: 'Password',
          authenticationStepRequirement: 'Primary authentication',
          succeeded: errorCode === 0,
        },
        ...(requirement === 'multiFactorAuthentication' && errorCode === 0
          ? [
              {
                authenticationStepDateTime: isoZ(at),
                authenticationMethod: 'Microsoft Authenticator app',
                authenticationStepRequirement: 'MFA',
                succeeded: true,
              },
            ]
          : []),
      ],
      ...fields,
    });
  };
  const login = (accountId: number, email: string, at: number, provider: 'saml' | 'password', ip: string) => {
    const sessionId = `session-${guid(`session:${sessionSeq++}`)}`;
    metabase.core_session.push({
      id: sessionId,
      user_id: accountId,
      created_at: isoZ(at),
      auth_identity_id: identityOf(accountId, provider, email),
      expires_at: isoZ(at + 14 * DAY),
      key_hashed: createHash('sha512').update(sessionId).digest('hex'),
    });
    metabase.login_history.push({
      id: loginId++,
      timestamp: isoZ(at),
      user_id: accountId,
      session_id: sessionId,
      device_id: guid(`device:${accountId}`),
      device_description: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/126.0',
      ip_address: ip,
    });
    lastLogin.set(accountId, Math.max(lastLogin.get(accountId) ?? 0, at));
    // Query executions begin 5 days into the window: Metabase's retention kept no older ones.
    const queries = 1 + Math.floor(rnd() * 3);
    for (let q = 0; q < queries; q++) {
      const startedAt = at + (q + 1) * 7 * MINUTE;
      if (startedAt < start + 5 * DAY || startedAt >= now) continue;
      metabase.query_execution.push({
        id: queryId++,
        hash: createHash('sha256').update(`q${queryId}`).digest('hex'),
        started_at: isoZ(startedAt),
        running_time: 40 + Math.floor(rnd() * 900),
        result_rows: Math.floor(rnd() * 5000),
        native: rnd() < 0.2,
        context: rnd() < 0.5 ? 'question' : 'dashboard',
        executor_id: accountId,
        card_id: 1 + Math.floor(rnd() * 40),
        dashboard_id: null,
        database_id: 2,
        auth_method: provider === 'saml' ? 'saml' : 'password',
      });
    }
    if (rnd() < 0.5)
      metabase.view_log.push({
        id: viewId++,
        user_id: accountId,
        model: 'dashboard',
        model_id: 1 + Math.floor(rnd() * 10),
        timestamp: isoZ(at + 2 * MINUTE),
        has_access: true,
        context: null,
      });
  };

  const ssoDay = (person: Person, day: number) => {
    const at = start + day * DAY + 9 * 3_600_000 + Math.floor(rnd() * 6 * 3_600_000);
    if (at >= now - 5 * MINUTE) return;
    const lag = (1 + Math.floor(rnd() * 4)) * MINUTE; // the sign-in comes 1–4 min before the login
    signIn(person, at - lag);
    login(person.accountId, person.email, at, 'saml', `203.0.113.${(person.accountId % 200) + 1}`);
  };

  for (const person of people) {
    if (person.accountId < 0 || person.role === 'dormant') continue;
    for (let day = 1; day < DEMO_DAYS; day += 2 + Math.floor(rnd() * 2)) {
      const at = start + day * DAY;
      if (person.role === 'leaver-disabled' && at >= adaDisabledAt - DAY) continue;
      if (person.role === 'rehired' && at >= carolDisabledAt - DAY && at <= carolEnabledAt + DAY) continue;
      ssoDay(person, day);
    }
  }
  // Noise that is not a failure of the user: MFA and KMSI interrupts before a success.
  for (const [i, person] of people
    .filter((p) => p.role === 'normal')
    .slice(0, 4)
    .entries()) {
    const at = start + (10 + i) * DAY + 8 * 3_600_000;
    for (let k = 0; k < 6; k++) signIn(person, at + k * 20_000, { errorCode: k % 2 === 0 ? 50074 : 50140 });
  }
  // Ada, disabled in Entra, comes back with the Metabase password she still has.
  login(ada.accountId, ada.email, adaDisabledAt + 5 * DAY, 'password', '198.51.100.77');
  // Judy's sign-in two weeks ago was risky, and it succeeded.
  const judyAt = now - 14 * DAY + 10 * 3_600_000;
  signIn(judy, judyAt - 2 * MINUTE, {
    riskLevelDuringSignIn: 'high',
    riskLevelAggregated: 'high',
    riskState: 'atRisk',
    riskEventTypes_v2: ['unfamiliarFeatures'],
  });
  login(judy.accountId, judy.email, judyAt, 'saml', '203.0.113.250');
  // Mallory: a password-spraying burst, 12 failures in 6 minutes.
  const burstAt = now - 7 * DAY + 2 * 3_600_000;
  for (let k = 0; k < 12; k++) signIn(mallory, burstAt + k * 30_000, { errorCode: 50126, ipAddress: '192.0.2.66' });
  // Dan, the contractor: local password logins, no Entra identity at all.
  for (let day = 3; day < DEMO_DAYS; day += 7)
    login(dan.accountId, dan.email, start + day * DAY + 15 * 3_600_000, 'password', '198.51.100.42');
  // Heidi last used Metabase 120 days ago.
  lastLogin.set(heidi.accountId, now - 120 * DAY);
  // The API key runs a nightly export.
  for (let day = 6; day < DEMO_DAYS; day += 1) {
    metabase.query_execution.push({
      id: queryId++,
      hash: createHash('sha256').update(`export${day}`).digest('hex'),
      started_at: isoZ(start + day * DAY + 2 * 3_600_000),
      running_time: 2000,
      result_rows: 10000,
      native: true,
      context: 'csv-download',
      executor_id: keyUserId,
      card_id: 7,
      dashboard_id: null,
      database_id: 2,
      auth_method: 'api-key',
    });
  }
  // The setup admin: password logins (a break-glass account), explained by nothing.
  login(1, `metabase-admin@${DOMAIN}`, now - 3 * DAY, 'password', '198.51.100.5');

  // Metabase ids come from sequences, so they rise with time; the collector relies on
  // that (lowest id = oldest row still held). Number the log rows in time order.
  const byTime = <T extends { id: number }>(rows: T[], at: (row: T) => string | Date) => {
    rows.sort((a, b) => Date.parse(String(at(a))) - Date.parse(String(at(b))) || a.id - b.id);
    rows.forEach((row, i) => (row.id = i + 1));
  };
  byTime(metabase.login_history, (row) => row.timestamp);
  byTime(metabase.query_execution, (row) => row.started_at);
  byTime(metabase.view_log, (row) => row.timestamp);

  for (const user of metabase.core_user) {
    const last = lastLogin.get(user.id);
    if (last !== undefined) user.last_login = isoZ(last);
  }
  metabase.audit_log.push({
    id: 1,
    topic: 'user-invited',
    timestamp: isoZ(now - 90 * DAY),
    user_id: 1,
    model: 'User',
    model_id: dan.accountId,
    details: JSON.stringify({ email: dan.email, sso_source: null }),
  });
  metabase.audit_log.push({
    id: 2,
    topic: 'api-key-create',
    timestamp: isoZ(now - 200 * DAY),
    user_id: 1,
    model: 'ApiKey',
    model_id: 1,
    details: JSON.stringify({ name: 'Nightly export', key_prefix: 'mb_NtEx' }),
  });
  metabase.audit_log.push({
    id: 3,
    topic: 'card-update',
    timestamp: isoZ(now - 2 * DAY),
    user_id: grace.accountId,
    model: 'Card',
    model_id: 12,
    details: JSON.stringify({ previous: { name: 'Revenue' }, new: { name: 'Revenue (net)' } }),
  });

  const expectedFindings: ExpectedFinding[] = [
    { rule: 'access-after-termination', subject: ada.objectId },
    { rule: 'access-after-termination', subject: bob.objectId },
    { rule: 'orphaned-account', subject: String(ada.accountId) },
    { rule: 'orphaned-account', subject: String(bob.accountId) },
    { rule: 'unlinked-account', subject: String(dan.accountId) },
    { rule: 'unlinked-account', subject: String(eve1.accountId) },
    { rule: 'unlinked-account', subject: '1' },
    { rule: 'sso-bypass', subject: String(ada.accountId) },
    { rule: 'sso-bypass', subject: String(dan.accountId) },
    { rule: 'sso-bypass', subject: String(eve1.accountId) },
    { rule: 'sso-bypass', subject: '1' },
    { rule: 'single-factor-sign-in', subject: ivan.objectId },
    { rule: 'unjustified-privilege', subject: String(grace.accountId) },
    { rule: 'unjustified-privilege', subject: '1' },
    { rule: 'dormant-account', subject: String(heidi.accountId) },
    { rule: 'stale-credential', subject: guid('secret:old') },
    { rule: 'stale-credential', subject: guid('cert:expiring') },
    { rule: 'stale-credential', subject: 'mb_NtEx' },
    { rule: 'log-gap', subject: 'metabase-query-executions' },
    { rule: 'failed-sign-in-burst', subject: mallory.objectId },
    { rule: 'risky-sign-in', subject: judy.objectId },
  ];
  void oscar;
  void peggy;
  void carol;
  return { now: new Date(now), start: new Date(start), entra, metabase, expectedFindings };
}

/** The subject a finding is matched on in expectedFindings. */
export function findingSubjectKey(finding: {
  rule: string;
  subject: { personId: string | null; metabaseAccountId: string | null; credentialId: string | null; source: string | null };
}): string {
  switch (finding.rule) {
    case 'access-after-termination':
    case 'single-factor-sign-in':
    case 'failed-sign-in-burst':
    case 'risky-sign-in':
      return finding.subject.personId ?? '';
    case 'stale-credential':
      return finding.subject.credentialId ?? '';
    case 'log-gap':
      return (finding.subject.source ?? '').split(' ').pop() ?? '';
    default:
      return finding.subject.metabaseAccountId ?? '';
  }
}
