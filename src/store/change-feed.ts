// What the service keeps in memory of a few small tables, and forgets as soon as they
// change: the API key found by a hash, the latest successful correlation run, a
// report's stored hash. Each is a round trip to the store on every API request
// otherwise (docs/scale.md, "The API").
//
// Migration 0016's triggers NOTIFY on `accesstrail_change` with the table's name when a
// statement on one of these tables commits, whichever process made it (the CLI revoking
// a key, a worker finishing a run). One connection of the service LISTENs; a
// notification empties that table's answers. An answer is kept only while that
// connection is known to receive notifications (every 10 s it notifies itself and waits
// for the notification to come back; a failure empties everything and stops keeping
// until it is back), and never longer than 30 s in any case.
//
// An answer loaded while a change arrived is not kept (the load may have read the row
// before the change): each table has a generation, bumped by every notification, and an
// answer is kept only if the generation it was loaded under is still the current one.
//
// The embedded store (one process, `accesstrail demo`) keeps nothing: every lookup reads
// the store, as before.
import { randomUUID } from 'node:crypto';

import { LRUCache } from 'lru-cache';
import type pg from 'pg';

import type { Logger } from '../logger.js';
import type { Store } from './database.js';

export const CHANGE_CHANNEL = 'accesstrail_change';

/** The tables whose statements notify (migration 0016). */
export type WatchedTable = 'api_key' | 'correlation_run' | 'report';
const WATCHED: readonly WatchedTable[] = ['api_key', 'correlation_run', 'report'];

/** Longest an answer is kept, notification or not. */
const MAX_AGE_MS = 30_000;
/** Answers kept per table (a key per API key, a report id per report served). */
const MAX_ENTRIES = 10_000;
const HEARTBEAT_MS = 10_000;
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;
/** How long sync() waits for its own notification before it gives up on the connection. */
const SYNC_TIMEOUT_MS = 5_000;

export interface ChangeFeed {
  /** `load()`'s answer for `key` in `table`: from memory while it is known to be current,
   *  else loaded (and kept, unless it is undefined). */
  cached<T extends NonNullable<unknown>>(table: WatchedTable, key: string, load: () => Promise<T | undefined>): Promise<T | undefined>;
  /** Forget the answers of `table` now (a change this process made itself). */
  invalidate(table: WatchedTable): void;
  /** Resolves once every change committed before the call has been seen: the feed
   *  notifies itself, and Postgres delivers notifications in commit order. */
  sync(): Promise<void>;
  /** True while the listening connection is up, i.e. while answers are kept. */
  readonly listening: boolean;
  close(): Promise<void>;
}

/** A feed that keeps nothing: the embedded store, the CLI, tests of one repository. */
export function uncachedFeed(): ChangeFeed {
  return {
    cached: (_table, _key, load) => load(),
    invalidate: () => undefined,
    sync: async () => undefined,
    listening: false,
    close: async () => undefined,
  };
}

/**
 * Starts listening for `store`'s changes and resolves once it listens (or after
 * `readyTimeoutMs` if the store does not answer: the feed keeps nothing until it
 * connects, and goes on trying). `roundTripTimeoutMs`: how long its own notification
 * may take to come back.
 */
export async function openChangeFeed(
  store: Store,
  logger: Logger,
  { readyTimeoutMs = 5_000, roundTripTimeoutMs = SYNC_TIMEOUT_MS }: { readyTimeoutMs?: number; roundTripTimeoutMs?: number } = {},
): Promise<ChangeFeed> {
  const newClient = store.newListenClient;
  if (!newClient) return uncachedFeed();
  const log = logger.child({ component: 'change-feed' });

  const caches = new Map<WatchedTable, LRUCache<string, NonNullable<unknown>>>(
    WATCHED.map((table) => [table, new LRUCache<string, NonNullable<unknown>>({ max: MAX_ENTRIES, ttl: MAX_AGE_MS })]),
  );
  const generations = new Map<WatchedTable, number>(WATCHED.map((table) => [table, 0]));
  const syncWaiters = new Map<string, (cameBack: boolean) => void>();

  let client: pg.Client | undefined;
  let listening = false;
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let reconnect: NodeJS.Timeout | undefined;
  let backoff = RECONNECT_MIN_MS;

  function forget(table: WatchedTable): void {
    generations.set(table, (generations.get(table) ?? 0) + 1);
    caches.get(table)?.clear();
  }
  function forgetAll(): void {
    for (const table of WATCHED) forget(table);
  }

  function lost(reason: string): void {
    if (!listening && client === undefined) return;
    if (listening) log.warn({ reason }, 'lost the store connection that listens for changes: API lookups read the store until it is back');
    listening = false;
    forgetAll();
    clearInterval(heartbeat);
    const old = client;
    client = undefined;
    old?.removeAllListeners('notification');
    old?.end().catch(() => undefined);
    for (const release of syncWaiters.values()) release(false);
    syncWaiters.clear();
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || reconnect) return;
    reconnect = setTimeout(() => {
      reconnect = undefined;
      void connect();
    }, backoff);
    reconnect.unref();
    backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
  }

  /** Notifies itself on `on` and waits for it: true once it came back. This is what
   *  proves the connection still receives notifications (a connection pooler in
   *  transaction mode, say, would run the LISTEN and the NOTIFY on connections of its
   *  choosing: the notification never comes back, and nothing is kept). */
  async function roundTrip(on: pg.Client): Promise<boolean> {
    const token = `sync:${randomUUID()}`;
    let timer: NodeJS.Timeout | undefined;
    const seen = new Promise<boolean>((resolve) => {
      syncWaiters.set(token, resolve);
      timer = setTimeout(() => resolve(false), roundTripTimeoutMs);
    });
    try {
      await on.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, token]);
      return await seen;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      syncWaiters.delete(token);
    }
  }

  let warnedCannotListen = false;
  async function connect(): Promise<void> {
    if (closed) return;
    const candidate = newClient!();
    client = candidate;
    candidate.on('error', (error) => {
      if (client === candidate) lost(error.message);
    });
    candidate.on('end', () => {
      if (client === candidate) lost('connection ended');
    });
    candidate.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL) return;
      const payload = message.payload ?? '';
      if (payload.startsWith('sync:')) {
        syncWaiters.get(payload)?.(true);
      } else if ((WATCHED as readonly string[]).includes(payload)) {
        forget(payload as WatchedTable);
      } else {
        // A payload this version does not know (a newer migration's table): forget everything.
        forgetAll();
      }
    });
    let failure: string | undefined;
    try {
      await candidate.connect();
      await candidate.query(`LISTEN ${CHANGE_CHANNEL}`);
      if (!(await roundTrip(candidate))) failure = 'its own notification did not come back';
    } catch (error) {
      failure = (error as Error).message;
    }
    if (failure !== undefined) {
      if (client === candidate) {
        client = undefined;
        candidate.end().catch(() => undefined);
        if (!warnedCannotListen) log.warn({ reason: failure }, 'cannot listen for store changes (yet): API lookups read the store');
        warnedCannotListen = true;
        scheduleReconnect();
      }
      return;
    }
    if (closed || client !== candidate) {
      await candidate.end().catch(() => undefined);
      return;
    }
    // Anything loaded before now was loaded while nobody listened.
    forgetAll();
    listening = true;
    warnedCannotListen = false;
    backoff = RECONNECT_MIN_MS;
    log.debug('listening for store changes');
    heartbeat = setInterval(() => {
      void roundTrip(candidate).then((alive) => {
        if (!alive && client === candidate) lost('no answer to its own notification');
      });
    }, HEARTBEAT_MS);
    heartbeat.unref();
  }

  const ready = connect();
  await Promise.race([ready, new Promise((resolve) => setTimeout(resolve, readyTimeoutMs).unref())]);

  return {
    async cached(table, key, load) {
      const cache = caches.get(table)!;
      if (listening) {
        const hit = cache.get(key);
        if (hit !== undefined) return hit as never;
      }
      const generation = generations.get(table);
      const value = await load();
      if (value !== undefined && listening && generations.get(table) === generation) cache.set(key, value);
      return value;
    },
    invalidate: forget,
    async sync() {
      const current = client;
      if (!listening || !current) return;
      if (!(await roundTrip(current)) && client === current) lost('no answer to its own notification');
    },
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      clearTimeout(reconnect);
      clearInterval(heartbeat);
      listening = false;
      const current = client;
      client = undefined;
      for (const release of syncWaiters.values()) release(false);
      syncWaiters.clear();
      await current?.end().catch(() => undefined);
    },
  };
}
