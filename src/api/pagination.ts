// Keyset pagination. The cursor is the base64url JSON of the last row's sort key: opaque
// to clients, stable while rows are added (unlike offsets), and cheap for the store.
import { z } from 'zod';

import { AppError } from '../errors.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export const pageQuery = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_LIMIT)
    .default(DEFAULT_LIMIT)
    .describe(`page size (default ${DEFAULT_LIMIT}, max ${MAX_LIMIT})`),
  cursor: z.string().min(1).max(1000).optional().describe("opaque cursor from the previous page's nextCursor"),
};

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decodes a cursor into `arity` strings or numbers; a malformed cursor is the client's mistake. */
export function decodeCursor(cursor: string, kinds: readonly ('string' | 'number')[]): (string | number)[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  // A decoded string goes into a query: a NUL (which Postgres refuses) makes it no cursor of ours.
  if (
    !Array.isArray(parsed) ||
    parsed.length !== kinds.length ||
    parsed.some((value, i) => typeof value !== kinds[i] || (typeof value === 'string' && value.includes('\u0000')))
  ) {
    throw new AppError('INPUT_INVALID', 'querystring.cursor is not a cursor this list gave out');
  }
  return parsed as (string | number)[];
}

/** Fetch limit + 1 rows; this trims the extra one and says where the next page starts. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => (string | number)[]): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(keyOf(items[items.length - 1] as T)) };
}

export const pageShape = { nextCursor: z.string().nullable() };
