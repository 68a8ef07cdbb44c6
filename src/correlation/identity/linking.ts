// Links Metabase accounts to Entra people by verified identity (rules.md, "Link").
// Pure: the store is read and written by identity.repository.ts.
import type { IdentityLinkTable } from '../../store/schema.js';

export type LinkMethod = 'upn' | 'mail' | 'otherMails' | 'proxyAddresses' | 'earlierUpn' | 'guestHome' | 'deletedUpn' | 'manual';

/** Order of preference when one person matches by several identifiers. */
const methodRank: Record<LinkMethod, number> = {
  manual: 0,
  upn: 1,
  mail: 2,
  otherMails: 3,
  proxyAddresses: 4,
  earlierUpn: 5,
  guestHome: 6,
  deletedUpn: 7,
};

export interface PersonIdentity {
  sourceId: string;
  personId: string;
  upn: string | null;
  mail: string | null;
  otherMails: readonly string[];
  proxyAddresses: readonly string[];
  /** Soft-deleted (listed under deleted items): its UPN carries its object id as prefix. */
  deleted: boolean;
  earlierUpns: readonly string[];
}

export interface AccountIdentity {
  metabaseSourceId: string;
  accountId: number;
  email: string | null;
  isHuman: boolean;
}

export interface ManualLink {
  metabaseSourceId: string;
  accountId: number;
  personId: string;
  entraSourceId: string | null;
}

export interface LinkResult {
  metabaseSourceId: string;
  accountId: number;
  /** The statuses are identity_link.status's, listed once in the store's schema. */
  status: IdentityLinkTable['status'];
  personId: string | null;
  entraSourceId: string | null;
  method: LinkMethod | null;
  matchedValue: string | null;
  /** Person ids an ambiguous e-mail matched. */
  candidates: string[] | null;
}

export const normaliseAddress = (value: string | null | undefined): string | null => {
  const trimmed = value?.trim().toLowerCase();
  return trimmed ? trimmed : null;
};

/** `alias_homedomain#EXT#@tenant` → `alias@homedomain` (split at the last underscore before #EXT#). */
export function guestHomeAddress(upn: string): string | null {
  const match = /^(.+)#ext#@/i.exec(upn);
  if (!match) return null;
  const local = match[1]!;
  const cut = local.lastIndexOf('_');
  if (cut <= 0 || cut === local.length - 1) return null;
  return `${local.slice(0, cut)}@${local.slice(cut + 1)}`.toLowerCase();
}

/** A soft-deleted user's UPN is prefixed with its object id (with or without hyphens). */
export function stripDeletedPrefix(upn: string, personId: string): string | null {
  const lower = upn.toLowerCase();
  for (const prefix of [personId.toLowerCase(), personId.toLowerCase().replace(/-/g, '')]) {
    if (lower.startsWith(prefix) && lower.length > prefix.length) return lower.slice(prefix.length);
  }
  return null;
}

export function identifiersOf(person: PersonIdentity): { value: string; method: LinkMethod }[] {
  const out: { value: string; method: LinkMethod }[] = [];
  const add = (value: string | null | undefined, method: LinkMethod) => {
    const normalised = normaliseAddress(value);
    if (normalised) out.push({ value: normalised, method });
  };
  const upn = normaliseAddress(person.upn);
  const liveUpn = upn && person.deleted ? stripDeletedPrefix(upn, person.personId) : null;
  if (person.deleted) {
    add(liveUpn, 'deletedUpn');
  } else {
    add(upn, 'upn');
  }
  add(person.mail, 'mail');
  for (const mail of person.otherMails) add(mail, 'otherMails');
  for (const proxy of person.proxyAddresses) {
    // Only smtp: addresses (any case); SIP: and other prefixes are not e-mail identities.
    const match = /^smtp:(.+)$/i.exec(proxy.trim());
    if (match) add(match[1], 'proxyAddresses');
  }
  for (const earlier of person.earlierUpns) add(earlier, 'earlierUpn');
  const homeSource = person.deleted ? liveUpn : upn;
  if (homeSource) add(guestHomeAddress(homeSource), 'guestHome');
  return out;
}

export function linkAccounts(
  accounts: readonly AccountIdentity[],
  people: readonly PersonIdentity[],
  manual: readonly ManualLink[],
): LinkResult[] {
  // identifier → person → best method
  const index = new Map<string, Map<string, { method: LinkMethod; sourceId: string }>>();
  for (const person of people) {
    for (const { value, method } of identifiersOf(person)) {
      const byPerson = index.get(value) ?? new Map<string, { method: LinkMethod; sourceId: string }>();
      const existing = byPerson.get(person.personId);
      if (!existing || methodRank[method] < methodRank[existing.method])
        byPerson.set(person.personId, { method, sourceId: person.sourceId });
      index.set(value, byPerson);
    }
  }
  const manualByAccount = new Map(manual.map((link) => [`${link.metabaseSourceId}|${link.accountId}`, link]));

  return accounts.map((account): LinkResult => {
    const base = { metabaseSourceId: account.metabaseSourceId, accountId: account.accountId };
    if (!account.isHuman)
      return { ...base, status: 'non-human', personId: null, entraSourceId: null, method: null, matchedValue: null, candidates: null };
    const manualLink = manualByAccount.get(`${account.metabaseSourceId}|${account.accountId}`);
    if (manualLink) {
      return {
        ...base,
        status: 'linked',
        personId: manualLink.personId,
        entraSourceId: manualLink.entraSourceId,
        method: 'manual',
        matchedValue: null,
        candidates: null,
      };
    }
    const email = normaliseAddress(account.email);
    const matches = email ? index.get(email) : undefined;
    if (!email || !matches || matches.size === 0) {
      return { ...base, status: 'unmatched', personId: null, entraSourceId: null, method: null, matchedValue: email, candidates: null };
    }
    if (matches.size > 1) {
      return {
        ...base,
        status: 'ambiguous',
        personId: null,
        entraSourceId: null,
        method: null,
        matchedValue: email,
        candidates: [...matches.keys()].sort(),
      };
    }
    const [personId, match] = [...matches][0]!;
    return {
      ...base,
      status: 'linked',
      personId,
      entraSourceId: match.sourceId,
      method: match.method,
      matchedValue: email,
      candidates: null,
    };
  });
}
