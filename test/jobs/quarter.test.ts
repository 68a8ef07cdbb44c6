// A quarter as a new user lives it: the service collects every few days while Entra keeps
// only 30 days of logs (the emulator serves only the last 30 days of its history at each
// simulated instant); at the end the quarter's findings are exactly those of one
// collection with unlimited retention. Then a 40-day pause: the lost Entra interval is a
// log-gap (exactly that interval, with evidence around it), and the Metabase logins in it
// are not evaluable, never SSO bypasses. Each step runs the collection run the `collect`
// job runs (src/collectors/run.ts), with the clock moved. The equality is about Entra's
// retention, so the first scenario collects Entra only; the second adds the Metabase
// logins of the whole quarter.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type Config, parseConfig } from '../../src/config.js';
import { correlateFromConfig } from '../../src/correlation/service.js';
import { type EntraDataset, type EntraEmulator, startEntraEmulator } from '../../src/emulators/entra/index.js';
import { sampleDataset } from '../../src/emulators/entra/sample.js';
import {
  type EmbeddedMetabaseDatabase,
  generateMetabaseDataset,
  startEmbeddedMetabaseDatabase,
} from '../../src/emulators/metabase/index.js';
import { runCollection } from '../../src/jobs/collection-run.js';
import { createLogger } from '../../src/logger.js';
import { openTestStore, type TestStore } from '../support/database.js';
import { entraEnv, fastEntra } from './support.js';

const DAY = 86_400_000;
const START = new Date('2026-07-01T00:00:00Z');
const END = new Date('2026-10-01T00:00:00Z'); // 92 days
const logger = createLogger({ level: 'silent' });

/** What Entra still holds at `now` with a 30-day retention: nothing older, nothing later. */
function entraAt(full: EntraDataset, now: Date, retentionDays: number): EntraDataset {
  const keep = (at: unknown) => {
    const t = Date.parse(String(at));
    return t <= now.getTime() && t >= now.getTime() - retentionDays * DAY;
  };
  return {
    ...full,
    signIns: full.signIns.filter((s) => keep(s['createdDateTime'])),
    directoryAudits: full.directoryAudits.filter((a) => keep(a['activityDateTime'])),
  };
}

describe('a quarter left running', () => {
  let emulator: EntraEmulator;
  let metabase: EmbeddedMetabaseDatabase;
  let full: EntraDataset;
  const stores: TestStore[] = [];
  const dataDir = mkdtempSync(path.join(tmpdir(), 'accesstrail-quarter-'));
  const configFor = (retentionDays: number): Config =>
    parseConfig(
      {
        ACCESSTRAIL_DATA_DIR: dataDir,
        ...entraEnv(emulator),
        METABASE_DB_URL: metabase.url,
        ENTRA_LOG_RETENTION_DAYS: String(retentionDays),
      },
      dataDir,
    );

  async function collectAt(
    store: TestStore,
    config: Config,
    now: Date,
    retentionDays: number,
    since?: Date,
    source: 'entra' | 'all' = 'entra',
  ) {
    emulator.dataset = entraAt(full, now, retentionDays);
    const result = await runCollection(
      { store, config, logger, now: () => now },
      { source, requestedBy: 'scheduler', correlate: false, entra: fastEntra(emulator), ...(since ? { since } : {}) },
    );
    expect(result.status, result.error ?? '').toBe('succeeded');
  }

  const quarterFindings = async (store: TestStore, config: Config) => {
    const result = await correlateFromConfig(store.db, config, { from: START, to: END, asOf: END, purpose: 'report' }, logger);
    return { result, keys: result.findings.map((f) => f.id).sort() };
  };

  beforeAll(async () => {
    full = sampleDataset({ now: END, days: 92, signIns: 150, directoryAudits: 40 });
    emulator = await startEntraEmulator({ dataset: full, maxPageSize: 200 });
    // Metabase keeps its own history (its app database is not subject to Entra's retention).
    metabase = await startEmbeddedMetabaseDatabase({
      version: 60,
      dataset: generateMetabaseDataset({
        start: START,
        days: 92,
        // Entra users of the sample tenant signing in to Metabase through SSO, so their logins are judged against Entra sign-ins.
        people: [0, 1, 2, 3].map((i) => ({ email: `user${i}@contoso.example`, firstName: 'User', lastName: String(i), ssoSource: 'saml' })),
        loginsPerUserPerDay: 1,
        queriesPerLogin: 1,
      }),
    });
  });
  afterAll(async () => {
    await emulator?.close();
    await metabase?.close();
    for (const store of stores) await store.dispose();
  });

  it('collecting every 6 days under a 30-day retention ends with exactly the findings of one collection with unlimited retention', async () => {
    const stepwise = await openTestStore('postgres');
    const once = await openTestStore('postgres');
    stores.push(stepwise, once);
    const config30 = configFor(30);
    for (let t = START.getTime() + DAY; t < END.getTime(); t += 6 * DAY) await collectAt(stepwise, config30, new Date(t), 30, START);
    await collectAt(stepwise, config30, END, 30);

    const unlimited = configFor(3650);
    await collectAt(once, unlimited, END, 3650, START);

    const a = await quarterFindings(stepwise, config30);
    const b = await quarterFindings(once, unlimited);
    expect(a.keys.length).toBeGreaterThan(0);
    const describe = (r: typeof a.result) =>
      r.findings
        .map(
          (f) =>
            `${f.rule} ${f.subject.upn ?? f.subject.email ?? f.subject.source ?? ''} ${f.firstSeen?.toISOString()}..${f.lastSeen?.toISOString()}`,
        )
        .sort();
    expect(describe(a.result)).toEqual(describe(b.result));
    expect(a.keys).toEqual(b.keys);
    expect(a.result.findings.filter((f) => f.rule === 'log-gap')).toEqual([]);
    expect(a.result.matches['not-evaluable']).toBe(b.result.matches['not-evaluable']);
  }, 900_000);

  it('a 40-day pause: log-gap findings for exactly the lost Entra interval, its Metabase logins not evaluable and never bypasses', async () => {
    const store = await openTestStore('postgres');
    stores.push(store);
    const config = configFor(30);
    const lastBefore = new Date(START.getTime() + 25 * DAY);
    for (let t = START.getTime() + DAY; t <= lastBefore.getTime(); t += 6 * DAY) await collectAt(store, config, new Date(t), 30, START);
    // Collection stops for 40 days; Entra deletes what falls out of its 30 days meanwhile.
    const resumed = new Date(lastBefore.getTime() + 40 * DAY);
    for (let t = resumed.getTime(); t < END.getTime(); t += 6 * DAY) await collectAt(store, config, new Date(t), 30);
    // Metabase keeps its own history: one collection at the end archives all its logins
    // (the app-database emulator holds the whole quarter, so earlier steps would read the future).
    await collectAt(store, config, END, 30, START, 'all');

    const lostFrom = lastBefore;
    const lostTo = new Date(resumed.getTime() - 30 * DAY);
    const { result } = await quarterFindings(store, config);
    const gaps = result.findings.filter((f) => f.rule === 'log-gap');
    expect(gaps.map((f) => [f.detail['stream'], f.firstSeen, f.lastSeen]).sort()).toEqual([
      ['entra-directory-audits', lostFrom, lostTo],
      ['entra-sign-ins', lostFrom, lostTo],
    ]);
    for (const gap of gaps) {
      // Evidence: the windows right before and after the gap, and the runs that collected them.
      expect(gap.evidence.filter((e) => e.source === 'coverage-window').map((e) => e.at)).toEqual([lostFrom, lostTo]);
      expect(gap.evidence.filter((e) => e.source === 'collection-run')).toHaveLength(2);
    }

    // Logins in the lost interval whose judgement needs Entra sign-ins are not evaluable,
    // never "unexplained" (an SSO bypass). A password session or an account linked to no
    // person is a bypass whatever Entra holds, so those stay flagged.
    const margin = DAY;
    const matches = await store.db.selectFrom('login_match').select(['login_at', 'outcome']).where('run_id', '=', result.runId).execute();
    const within = (m: { login_at: Date | string }, from: number, to: number) =>
      new Date(m.login_at).getTime() > from && new Date(m.login_at).getTime() < to;
    const inside = matches.filter((m) => within(m, lostFrom.getTime() + margin, lostTo.getTime() - margin));
    expect(inside.filter((m) => m.outcome === 'not-evaluable').length).toBeGreaterThan(0);
    expect(inside.filter((m) => m.outcome === 'unexplained' || m.outcome === 'explained')).toEqual([]);
    const notEvaluable = matches.filter((m) => m.outcome === 'not-evaluable');
    expect(notEvaluable.filter((m) => !within(m, lostFrom.getTime() - margin, lostTo.getTime() + margin))).toEqual([]);
    expect(result.rules.find((r) => r.id === 'sso-bypass')!.notEvaluableCount).toBe(notEvaluable.length);
    // Outside the gap the same accounts' logins are judged (explained or not).
    expect(
      matches.filter(
        (m) =>
          !within(m, lostFrom.getTime() - margin, lostTo.getTime() + margin) && (m.outcome === 'unexplained' || m.outcome === 'explained'),
      ).length,
    ).toBeGreaterThan(0);
  }, 900_000);
});
