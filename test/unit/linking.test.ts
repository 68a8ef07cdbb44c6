import { describe, expect, it } from 'vitest';

import {
  type AccountIdentity,
  guestHomeAddress,
  identifiersOf,
  linkAccounts,
  type PersonIdentity,
  stripDeletedPrefix,
} from '../../src/correlation/identity/linking.js';

const person = (personId: string, fields: Partial<PersonIdentity> = {}): PersonIdentity => ({
  sourceId: 'entra:t',
  personId,
  upn: null,
  mail: null,
  otherMails: [],
  proxyAddresses: [],
  deleted: false,
  earlierUpns: [],
  ...fields,
});
const account = (accountId: number, email: string | null, isHuman = true): AccountIdentity => ({
  metabaseSourceId: 'metabase:m',
  accountId,
  email,
  isHuman,
});

describe('linking accounts to people', () => {
  it('matches e-mail case-insensitively and trimmed, by UPN first', () => {
    const [link] = linkAccounts(
      [account(1, '  Ada.Lovelace@Contoso.com ')],
      [person('p1', { upn: 'ada.lovelace@CONTOSO.com', mail: 'ada.lovelace@contoso.com' })],
      [],
    );
    expect(link).toMatchObject({ status: 'linked', personId: 'p1', method: 'upn' });
  });

  it.each([
    ['mail', person('p1', { upn: 'a1@corp.onmicrosoft.com', mail: 'ada@contoso.com' })],
    ['otherMails', person('p1', { upn: 'a1@corp.onmicrosoft.com', otherMails: ['ada@contoso.com'] })],
    [
      'proxyAddresses',
      person('p1', { upn: 'a1@corp.onmicrosoft.com', proxyAddresses: ['SMTP:a1@corp.onmicrosoft.com', 'smtp:ADA@contoso.com'] }),
    ],
    ['earlierUpn', person('p1', { upn: 'ada.byron@contoso.com', earlierUpns: ['ada@contoso.com'] })],
  ])('links by %s', (method, p) => {
    expect(linkAccounts([account(1, 'ada@contoso.com')], [p], [])[0]).toMatchObject({ status: 'linked', method });
  });

  it('ignores SIP: and other proxy address prefixes', () => {
    const p = person('p1', { upn: 'x@corp.example', proxyAddresses: ['SIP:ada@contoso.com', 'X500:/o=ada@contoso.com'] });
    expect(linkAccounts([account(1, 'ada@contoso.com')], [p], [])[0]!.status).toBe('unmatched');
  });

  it('links a guest by the home form of its #EXT# UPN, split at the last underscore', () => {
    expect(guestHomeAddress('ada_lovelace_fabrikam.com#EXT#@contoso.onmicrosoft.com')).toBe('ada_lovelace@fabrikam.com');
    const guest = person('g1', { upn: 'ada_fabrikam.com#EXT#@contoso.onmicrosoft.com' });
    expect(linkAccounts([account(1, 'ADA@fabrikam.com')], [guest], [])[0]).toMatchObject({
      status: 'linked',
      personId: 'g1',
      method: 'guestHome',
    });
  });

  it('links a soft-deleted user by its UPN without the object-id prefix, and by mail', () => {
    const id = '4f8c2a8e-1111-4222-8333-944445555666';
    expect(stripDeletedPrefix(`4f8c2a8e111142228333944445555666ada@contoso.com`, id)).toBe('ada@contoso.com');
    const deleted = person(id, { deleted: true, upn: `4f8c2a8e111142228333944445555666ada@contoso.com`, mail: 'ada.l@contoso.com' });
    const links = linkAccounts([account(1, 'ada@contoso.com'), account(2, 'ada.l@contoso.com')], [deleted], []);
    expect(links.map((l) => [l.status, l.method])).toEqual([
      ['linked', 'deletedUpn'],
      ['linked', 'mail'],
    ]);
  });

  it('does not link an e-mail that matches two people, and names them', () => {
    const people = [person('p1', { upn: 'ada@contoso.com' }), person('p2', { upn: 'ada.new@contoso.com', mail: 'ADA@contoso.com' })];
    expect(linkAccounts([account(1, 'ada@contoso.com')], people, [])[0]).toMatchObject({
      status: 'ambiguous',
      personId: null,
      candidates: ['p1', 'p2'],
    });
  });

  it("treats one person's current UPN being another's earlier UPN as ambiguous", () => {
    const people = [
      person('p1', { upn: 'sam@contoso.com' }),
      person('p2', { upn: 'samuel@contoso.com', earlierUpns: ['sam@contoso.com'] }),
    ];
    expect(linkAccounts([account(1, 'sam@contoso.com')], people, [])[0]!.status).toBe('ambiguous');
  });

  it('never links non-human accounts, and a manual link wins over automatic linking', () => {
    const people = [person('p1', { upn: 'ada@contoso.com' }), person('p2', { upn: 'bob@contoso.com' })];
    const links = linkAccounts([account(1, 'api-key-user-1@api-key.invalid', false), account(2, 'ada@contoso.com')], people, [
      { metabaseSourceId: 'metabase:m', accountId: 2, personId: 'p2', entraSourceId: 'entra:t' },
    ]);
    expect(links[0]).toMatchObject({ status: 'non-human', personId: null });
    expect(links[1]).toMatchObject({ status: 'linked', personId: 'p2', method: 'manual' });
  });

  it('lists the identifiers a person can be matched by', () => {
    const ids = identifiersOf(person('p1', { upn: 'A@x.com', mail: 'b@x.com', otherMails: ['c@y.com'], proxyAddresses: ['smtp:d@x.com'] }));
    expect(ids.map((i) => `${i.method}:${i.value}`)).toEqual([
      'upn:a@x.com',
      'mail:b@x.com',
      'otherMails:c@y.com',
      'proxyAddresses:d@x.com',
    ]);
  });
});
