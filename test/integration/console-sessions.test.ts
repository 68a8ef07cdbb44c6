// Console sessions in the store: a live one is found, an ended or expired one is not, and
// rows finished more than SESSION_KEEP_DAYS ago are deleted when the next session starts
// (docs/console.md), on both engines.
import { afterEach, describe, expect, it } from 'vitest';

import { createSessionRepository, SESSION_KEEP_DAYS } from '../../src/console/session.repository.js';
import { openTestStore, type TestStore } from '../support/database.js';

const DAY = 86_400_000;

describe.each(['postgres', 'pglite'] as const)('console sessions (%s)', (engine) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.dispose();
    store = undefined;
  });

  it('finds live sessions, refuses ended and expired ones, and purges old finished rows', async () => {
    store = await openTestStore(engine);
    let clock = new Date('2026-10-01T09:00:00Z');
    const sessions = createSessionRepository(store.db, () => clock);
    const person = { subject: 'oid-1', tenantId: 't', displayName: 'A', username: 'a@x', role: 'viewer' as const };

    const ended = await sessions.create({ ...person, lifetimeHours: 8 });
    const expired = await sessions.create({ ...person, lifetimeHours: 1 });
    await sessions.end(ended.id);
    clock = new Date(clock.getTime() + 2 * 3_600_000);
    const live = await sessions.create({ ...person, lifetimeHours: 8 });
    expect(await sessions.find(live.id)).toMatchObject({ subject: 'oid-1', role: 'viewer' });
    expect(await sessions.find(ended.id)).toBeUndefined();
    expect(await sessions.find(expired.id)).toBeUndefined();

    const rows = async () =>
      Number(
        (
          await store!.db
            .selectFrom('console_session')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    expect(await rows()).toBe(3);

    // Within the keep period nothing is deleted; past it, the finished rows go and the
    // newest session stays (it has not expired long enough).
    clock = new Date(clock.getTime() + (SESSION_KEEP_DAYS - 1) * DAY);
    await sessions.create({ ...person, lifetimeHours: 8 });
    expect(await rows()).toBe(4);
    clock = new Date(clock.getTime() + 2 * DAY);
    const latest = await sessions.create({ ...person, lifetimeHours: 8 });
    expect(await rows()).toBe(2);
    expect(await sessions.find(latest.id)).toBeDefined();
  });
});
