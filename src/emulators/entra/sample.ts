// A small, deterministic organisation for the emulator: users, a Metabase app with its
// service principal, role assignments (a group and a user), an admin group with a nested
// group, credentials, and sign-ins/audits spread over the last days. Tests and the
// benchmark use it; the demo builds its own richer organisation into the same type.
import type { EntraDataset, EntraGroup, GraphObject } from './dataset.js';

export interface SampleDatasetOptions {
  /** Sign-ins and audits are spread over [now - days, now). */
  now: Date;
  days?: number;
  users?: number;
  signIns?: number;
  directoryAudits?: number;
  metabaseAppId?: string;
  collectorClientId?: string;
  collectorSecret?: string;
  /** Sign-ins to another app (must never be collected). */
  otherAppSignIns?: number;
}

/** Deterministic GUID from a label and a number. */
export function sampleGuid(label: string, n: number): string {
  let h = 2166136261;
  for (const ch of `${label}:${n}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
  const hex = (h.toString(16).padStart(8, '0') + n.toString(16).padStart(12, '0')).slice(0, 20);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${n.toString(16).padStart(12, '0')}`;
}

export const SAMPLE_METABASE_APP_ID = '6d1f0b1e-7a53-4c1b-9d0e-3a1f2b4c5d6e';
export const SAMPLE_COLLECTOR_CLIENT_ID = '0c0ffee0-1111-4222-8333-444455556666';
export const SAMPLE_COLLECTOR_SECRET = 'emulator-secret-value';
const OTHER_APP_ID = '00000002-0000-0ff1-ce00-000000000000';

export function sampleDataset(options: SampleDatasetOptions): EntraDataset {
  const days = options.days ?? 5;
  // At least 12: the groups, assignments and disabled/guest users below pick users by index.
  const userCount = Math.max(12, options.users ?? 12);
  const metabaseAppId = options.metabaseAppId ?? SAMPLE_METABASE_APP_ID;
  const collectorClientId = options.collectorClientId ?? SAMPLE_COLLECTOR_CLIENT_ID;
  const end = options.now.getTime();
  const span = days * 86_400_000;

  const users: GraphObject[] = Array.from({ length: userCount }, (_, i) => ({
    id: sampleGuid('user', i),
    displayName: `User ${i}`,
    userPrincipalName: `User${i}@Contoso.example`,
    mail: `user${i}@contoso.example`,
    otherMails: [],
    proxyAddresses: [`SMTP:user${i}@contoso.example`],
    accountEnabled: i % 7 !== 6,
    userType: i % 5 === 4 ? 'Guest' : 'Member',
    createdDateTime: new Date(end - 400 * 86_400_000 + i * 3_600_000).toISOString().replace('.000Z', 'Z'),
    deletedDateTime: null,
    employeeLeaveDateTime: i % 7 === 6 ? new Date(end - 2 * 86_400_000).toISOString().replace('.000Z', 'Z') : null,
  }));
  const deletedUsers: GraphObject[] = [
    {
      id: sampleGuid('deleted-user', 0),
      displayName: 'Former Employee',
      userPrincipalName: `${sampleGuid('deleted-user', 0).replace(/-/g, '')}Former@contoso.example`,
      mail: 'former@contoso.example',
      accountEnabled: false,
      userType: 'Member',
      createdDateTime: new Date(end - 300 * 86_400_000).toISOString(),
      deletedDateTime: new Date(end - 1 * 86_400_000).toISOString(),
    },
  ];

  const spId = sampleGuid('sp', 1);
  const appObjectId = sampleGuid('app', 1);
  const collectorSpId = sampleGuid('sp', 2);
  const collectorAppObjectId = sampleGuid('app', 2);
  const analysts: EntraGroup = {
    id: sampleGuid('group', 1),
    displayName: 'Metabase Analysts',
    members: users.slice(0, 5).map((u) => u.id!),
  };
  const nested: EntraGroup = { id: sampleGuid('group', 3), displayName: 'Platform Team', members: users.slice(8, 10).map((u) => u.id!) };
  const admins: EntraGroup = { id: sampleGuid('group', 2), displayName: 'Metabase Admins', members: [users[5]!.id!, nested.id] };
  const credential = (kind: 'password' | 'key', n: number): GraphObject =>
    kind === 'password'
      ? {
          keyId: sampleGuid('secret', n),
          displayName: `secret ${n}`,
          hint: 'abc',
          startDateTime: new Date(end - 200 * 86_400_000).toISOString(),
          endDateTime: new Date(end + 165 * 86_400_000).toISOString(),
          customKeyIdentifier: null,
          secretText: null,
        }
      : {
          keyId: sampleGuid('cert', n),
          displayName: `CN=cert ${n}`,
          type: 'AsymmetricX509Cert',
          usage: 'Verify',
          startDateTime: new Date(end - 100 * 86_400_000).toISOString(),
          endDateTime: new Date(end + 265 * 86_400_000).toISOString(),
          customKeyIdentifier: 'QUJD',
          key: null,
        };

  const signIns: GraphObject[] = [];
  const total = options.signIns ?? 40;
  for (let i = 0; i < total; i++) {
    const user = users[i % users.length]!;
    const at = new Date(end - span + Math.floor(((i + 0.5) * span) / total));
    const interactive = i % 3 !== 2;
    signIns.push({
      id: sampleGuid('signin', i),
      createdDateTime: at.toISOString(),
      userId: user.id,
      userPrincipalName: String(user['userPrincipalName']).toLowerCase(),
      userDisplayName: user['displayName'],
      appId: metabaseAppId,
      appDisplayName: 'Metabase',
      resourceId: '00000003-0000-0000-c000-000000000000',
      ipAddress: `203.0.113.${(i % 200) + 1}`,
      clientAppUsed: 'Browser',
      correlationId: sampleGuid('corr', i),
      conditionalAccessStatus: 'success',
      isInteractive: interactive,
      signInEventTypes: [interactive ? 'interactiveUser' : 'nonInteractiveUser'],
      authenticationRequirement: i % 4 === 0 ? 'singleFactorAuthentication' : 'multiFactorAuthentication',
      authenticationDetails: [
        { authenticationMethod: 'Password', succeeded: true, authenticationStepRequirement: 'Primary authentication' },
      ],
      riskDetail: 'none',
      riskLevelAggregated: 'none',
      riskLevelDuringSignIn: 'none',
      riskState: 'none',
      status: { errorCode: i % 9 === 8 ? 50126 : 0, failureReason: i % 9 === 8 ? 'Invalid username or password.' : null },
      location: { city: 'Berlin', countryOrRegion: 'DE' },
    });
  }
  for (let i = 0; i < (options.otherAppSignIns ?? 5); i++) {
    signIns.push({
      id: sampleGuid('other-signin', i),
      createdDateTime: new Date(end - span + ((i + 1) * span) / 7).toISOString(),
      userId: users[0]!.id,
      userPrincipalName: String(users[0]!['userPrincipalName']).toLowerCase(),
      appId: OTHER_APP_ID,
      appDisplayName: 'Office 365 Exchange Online',
      isInteractive: true,
      signInEventTypes: ['interactiveUser'],
      status: { errorCode: 0 },
    });
  }

  const activities = ['Add member to group', 'Update user', 'Add app role assignment grant to user', 'Disable account', 'Reset password'];
  const directoryAudits: GraphObject[] = Array.from({ length: options.directoryAudits ?? 15 }, (_, i) => ({
    id: `Directory_${sampleGuid('audit', i)}_${i}`,
    activityDateTime: new Date(end - span + Math.floor(((i + 0.3) * span) / (options.directoryAudits ?? 15))).toISOString(),
    activityDisplayName: activities[i % activities.length],
    category: i % 5 === 0 ? 'GroupManagement' : 'UserManagement',
    correlationId: sampleGuid('audit-corr', i),
    loggedByService: 'Core Directory',
    operationType: i % 5 === 0 ? 'Assign' : 'Update',
    result: 'success',
    resultReason: '',
    additionalDetails: [],
    initiatedBy: { user: { id: users[1]!.id, userPrincipalName: users[1]!['userPrincipalName'] }, app: null },
    targetResources: [
      {
        id: users[(i + 2) % users.length]!.id,
        type: 'User',
        userPrincipalName: users[(i + 2) % users.length]!['userPrincipalName'],
        modifiedProperties: [],
      },
      ...(i % 5 === 0 ? [{ id: analysts.id, type: 'Group', displayName: analysts.displayName, modifiedProperties: [] }] : []),
    ],
  }));

  return {
    signIns,
    directoryAudits,
    users,
    deletedUsers,
    groups: [analysts, admins, nested, { id: sampleGuid('group', 4), displayName: 'Unrelated', members: [users[11 % users.length]!.id!] }],
    applications: [
      {
        id: appObjectId,
        appId: metabaseAppId,
        displayName: 'Metabase',
        web: { redirectUris: ['https://metabase.contoso.example/auth/sso'] },
        spa: { redirectUris: [] },
        publicClient: { redirectUris: [] },
        passwordCredentials: [credential('password', 1)],
        keyCredentials: [credential('key', 1)],
      },
      {
        id: collectorAppObjectId,
        appId: collectorClientId,
        displayName: 'accesstrail collector',
        web: { redirectUris: [] },
        passwordCredentials: [credential('password', 2)],
        keyCredentials: [],
      },
    ],
    servicePrincipals: [
      {
        id: spId,
        appId: metabaseAppId,
        displayName: 'Metabase',
        servicePrincipalType: 'Application',
        appRoleAssignmentRequired: true,
        replyUrls: ['https://metabase.contoso.example/auth/sso'],
        passwordCredentials: [],
        keyCredentials: [],
      },
      {
        id: collectorSpId,
        appId: collectorClientId,
        displayName: 'accesstrail collector',
        servicePrincipalType: 'Application',
        replyUrls: [],
        passwordCredentials: [],
        keyCredentials: [],
      },
    ],
    appRoleAssignments: [
      {
        id: 'assign-group-analysts',
        appRoleId: '00000000-0000-0000-0000-000000000000',
        principalId: analysts.id,
        principalType: 'Group',
        principalDisplayName: analysts.displayName,
        resourceId: spId,
        resourceDisplayName: 'Metabase',
        createdDateTime: new Date(end - 90 * 86_400_000).toISOString(),
      },
      {
        id: 'assign-user-7',
        appRoleId: '00000000-0000-0000-0000-000000000000',
        principalId: users[7 % users.length]!.id,
        principalType: 'User',
        principalDisplayName: users[7 % users.length]!['displayName'],
        resourceId: spId,
        resourceDisplayName: 'Metabase',
        createdDateTime: new Date(end - 30 * 86_400_000).toISOString(),
      },
    ],
    clients: [{ clientId: collectorClientId, secret: options.collectorSecret ?? SAMPLE_COLLECTOR_SECRET }],
  };
}

/** The admin group id of the sample organisation (its members include a nested group). */
export const SAMPLE_ADMIN_GROUP_ID = sampleGuid('group', 2);
