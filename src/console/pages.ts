// The console's pages as pure functions of what the routes read: data in, HTML out.
import type { Account } from '../api/routes/people.routes.js';
import type { ControlSection, ReportModel } from '../reports/model.js';
import type { TimeRange } from '../store/collection.repository.js';
import type { StreamFreshness } from '../store/freshness.repository.js';
import { coverageTimeline, eventLanes, severityBars } from './charts.js';
import type { EvidenceRecord, StreamCoverage, TimelineEvent } from './console.repository.js';
import { badge, csrfField, day, Html, html, page, type PageUser, table, when } from './html.js';
import { atLeast } from './roles.js';

export type Framework = 'soc2' | 'iso27001';
export const FRAMEWORKS: { id: Framework; label: string }[] = [
  { id: 'soc2', label: 'SOC 2' },
  { id: 'iso27001', label: 'ISO 27001' },
];
const frameworkLabel = (id: string) => FRAMEWORKS.find((f) => f.id === id)?.label ?? id;

export interface Verification {
  ok: boolean;
  reasons: string[];
  keyId: string | null;
}

function qs(params: Record<string, string | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(name, value);
  const text = search.toString();
  return text ? `?${text}` : '';
}

function verificationBadge(v: Verification): Html {
  return v.ok
    ? html`${badge('ok', 'verified')} <span class="muted">signature and content hash intact${v.keyId ? `, key ${v.keyId}` : ''}</span>`
    : html`${badge('bad', 'NOT verified')} <span>${v.reasons.join('; ')}</span>`;
}

// ---------------------------------------------------------------------------------- sign-in

export function signInPage(input: { returnTo: string; message?: string | undefined }): string {
  return page({
    title: 'Sign in',
    body: html`<div class="signin">
      <p>
        The accesstrail console shows access evidence, findings and signed reports to compliance teams. Sign in with your organisation's
        Microsoft Entra ID account.
      </p>
      ${input.message ? html`<p class="error" role="alert">${input.message}</p>` : ''}
      <p><a class="button" href="/auth/login${qs({ returnTo: input.returnTo })}">Sign in with Microsoft Entra ID</a></p>
    </div>`,
  });
}

export function signedOutPage(): string {
  return page({
    title: 'Signed out',
    body: html`<p>You have signed out of the accesstrail console. Your session has ended on the server.</p>
      <p><a href="/sign-in">Sign in again</a></p>`,
  });
}

export function noRolePage(input: {
  who: string;
  appRoles: string[];
  groupCount: number;
  groupsFrom: string;
  mapping: { viewer: readonly string[]; reviewer: readonly string[]; admin: readonly string[] };
}): string {
  return page({
    title: 'No access to the console',
    body: html`<p class="error" role="alert">
        You signed in to Entra ID as <strong>${input.who}</strong>, but none of your app roles or groups is mapped to a console role, so the
        console does not let you in.
      </p>
      <dl class="facts">
        <dt>Your app roles in this application</dt>
        <dd>${input.appRoles.length ? input.appRoles.join(', ') : 'none'}</dd>
        <dt>Groups considered</dt>
        <dd>
          ${input.groupCount}
          (${input.groupsFrom === 'graph' ? 'read through Microsoft Graph: your token had too many groups to list them' : input.groupsFrom === 'token' ? 'from your token' : 'none in your token'})
        </dd>
      </dl>
      <p>Ask an administrator of the accesstrail app registration to assign you one of these app roles (or add you to a mapped group):</p>
      <ul>
        <li>viewer: ${input.mapping.viewer.join(', ')}</li>
        <li>reviewer: ${input.mapping.reviewer.join(', ')}</li>
        <li>admin: ${input.mapping.admin.join(', ')}</li>
      </ul>
      <p><a href="/sign-in">Sign in as someone else</a></p>`,
  });
}

export function messagePage(title: string, message: string, user?: PageUser): string {
  return page({
    title,
    ...(user ? { user } : {}),
    body: html`<p class="error" role="alert">${message}</p>
      <p><a href="/">Back to the overview</a></p>`,
  });
}

export function consoleOffPage(reason: string): string {
  return page({
    title: 'Console not configured',
    body: html`<p class="warning">The web console is off: ${reason}. See docs/console.md. The API at /v1 works with API keys.</p>`,
  });
}

// ---------------------------------------------------------------------------------- overview

export interface OverviewData {
  framework: Framework;
  quarter: { label: string; from: Date; to: Date };
  report: { id: string; model: ReportModel; verification: Verification } | undefined;
  correlationRunId: number | undefined;
  counts: { rule: string; severity: 'high' | 'medium' | 'low'; count: number }[];
  /** readFreshness: every collected stream, judged as the retention guard judges it. */
  freshness: StreamFreshness[];
  retentionDays: number;
  now: Date;
}

function controlRows(controls: ControlSection[]): (Html | string)[][] {
  return controls.map((c) => [
    html`<strong>${c.id}</strong>`,
    c.title,
    badge(c.status),
    c.findingIds.length ? String(c.findingIds.length) : '0',
    c.reasons.join('; ') || '—',
  ]);
}

/** Hours since an instant, for freshness. */
function ageHours(now: Date, at: Date | null): number | null {
  return at ? (now.getTime() - at.getTime()) / 3_600_000 : null;
}

function ageText(hours: number | null): string {
  if (hours === null) return 'never';
  if (hours < 1) return `${Math.max(1, Math.round(hours * 60))} min ago`;
  if (hours < 48) return `${Math.round(hours)} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

export function overviewPage(user: PageUser, data: OverviewData): string {
  const byRule = new Map<string, { label: string; high: number; medium: number; low: number }>();
  for (const row of data.counts) {
    const entry = byRule.get(row.rule) ?? { label: row.rule, high: 0, medium: 0, low: 0 };
    entry[row.severity] += row.count;
    byRule.set(row.rule, entry);
  }
  const rules = [...byRule.values()].sort((a, b) => b.high + b.medium + b.low - (a.high + a.medium + a.low));
  const total = rules.reduce((sum, r) => sum + r.high + r.medium + r.low, 0);
  const model = data.report?.model;
  const tabs = html`<nav aria-label="Framework">
    <p>
      ${FRAMEWORKS.map((f) => (f.id === data.framework ? html`<strong aria-current="page">${f.label}</strong> ` : html`<a href="/${qs({ framework: f.id })}">${f.label}</a> `))}
    </p>
  </nav>`;

  // Retention: Entra keeps sign-in and audit logs ENTRA_LOG_RETENTION_DAYS days; a log
  // stream not collected for longer loses records for good. Judged by the store's
  // readFreshness, as the service's retention guard and /readyz judge it: warn a week before.
  const warnings: Html[] = [];
  for (const f of data.freshness) {
    if (f.status === 'fresh') continue;
    const lost = f.status === 'lost';
    warnings.push(
      html`<li>
        ${f.sourceId} ${f.stream}: last collected up to ${when(f.lastCoveredTo)}; Entra keeps ${String(f.retentionDays)} days of logs
        (ENTRA_LOG_RETENTION_DAYS)${lost ? ', so records after that instant may already be lost' : ', so collect within the next days or records will be lost'}.
      </li>`,
    );
  }

  const body = html`${tabs}
    <p class="muted">
      ${frameworkLabel(data.framework)}, quarter to date: ${data.quarter.label} (${day(data.quarter.from)} to ${day(data.now)}).
    </p>
    ${
      warnings.length
        ? html`<section aria-labelledby="retention">
            <h2 id="retention">Retention warning</h2>
            <div class="warning">
              <ul>
                ${warnings}
              </ul>
            </div>
          </section>`
        : html`<section aria-labelledby="retention">
            <h2 id="retention">Retention</h2>
            <p>Every Entra log stream was collected within its ${data.retentionDays}-day retention.</p>
          </section>`
    }
    <section aria-labelledby="controls">
      <h2 id="controls">Controls and their status</h2>
      ${
        model && data.report
          ? html`<p>
                From the signed report <a href="/reports/${encodeURIComponent(data.report.id)}/pdf">${data.report.id}</a> (period
                ${day(model.period.from)} to ${day(model.period.to)}, as of ${when(model.asOf)}${model.provisional ? ', provisional' : ''}):
                ${verificationBadge(data.report.verification)}
              </p>
              ${table(`${frameworkLabel(data.framework)} controls`, ['Control', 'Title', 'Status', 'Findings', 'Why'], controlRows(model.controls))}`
          : html`<p class="empty">No ${frameworkLabel(data.framework)} report covers this quarter yet.</p>`
      }
      ${atLeast(user.role, 'reviewer') ? html`<form method="post" action="/reports" class="stack">${csrfField(user.csrfToken)}<input type="hidden" name="framework" value="${data.framework}" /><input type="hidden" name="period" value="${data.quarter.label}" /><button type="submit">Build the ${data.quarter.label} report now</button></form>` : ''}
    </section>
    <section aria-labelledby="findings">
      <h2 id="findings">Findings by rule and severity</h2>
      ${
        data.correlationRunId === undefined
          ? html`<p class="empty">
              No correlation has run yet: findings appear after the first collection (or <code>accesstrail correlate</code>).
            </p>`
          : html`<p>
                ${total} findings last seen this quarter (correlation run ${data.correlationRunId}).
                <a href="/findings${qs({ from: day(data.quarter.from) })}">See them all</a>.
              </p>
              ${
                rules.length
                  ? html`<figure class="chart">
                      ${severityBars(rules, 'Findings by rule and severity')}
                      <figcaption>Findings last seen in ${data.quarter.label}, by rule; bar segments by severity.</figcaption>
                    </figure>`
                  : ''
              }
              ${table(
                'Findings by rule and severity',
                ['Rule', 'High', 'Medium', 'Low'],
                rules.map((r) => [
                  html`<a href="/findings${qs({ rule: r.label, from: day(data.quarter.from) })}">${r.label}</a>`,
                  String(r.high),
                  String(r.medium),
                  String(r.low),
                ]),
                { empty: 'No findings this quarter.' },
              )}`
      }
    </section>
    <section aria-labelledby="sources">
      <h2 id="sources">Sources: coverage and freshness</h2>
      ${table(
        'Each source and stream: newest instant collected completely',
        ['Source', 'Stream', 'Collected up to', 'Freshness', 'Oldest row upstream'],
        data.freshness.map((f) => {
          const hours = ageHours(data.now, f.lastCoveredTo);
          return [
            f.sourceId,
            f.stream,
            when(f.lastCoveredTo),
            hours !== null && hours > 48 ? html`${badge('warn', 'stale')} ${ageText(hours)}` : ageText(hours),
            when(f.oldestAvailableAt),
          ];
        }),
        { empty: 'Nothing collected yet.' },
      )}
      <p><a href="/coverage">Coverage timeline and gaps</a></p>
    </section>`;
  return page({ title: 'Overview', current: 'overview', user, body });
}

// ---------------------------------------------------------------------------------- reports

export interface ReportRowView {
  id: string;
  framework: string;
  periodFrom: Date;
  periodTo: Date;
  asOf: Date;
  generatedAt: Date;
  provisional: boolean;
  contentSha256: string;
  verification: Verification;
  hasManifest: boolean;
}

export function reportsPage(
  user: PageUser,
  data: {
    rows: ReportRowView[];
    framework: string | undefined;
    period: string | undefined;
    nextCursor: string | null;
    notice?: string | undefined;
    defaultQuarter: string;
  },
): string {
  const filters = html`<form method="get" action="/reports" class="filters" role="search" aria-label="Filter reports">
    <label
      >Framework<select name="framework">
        <option value="">all</option>
        ${FRAMEWORKS.map((f) => html`<option value="${f.id}" ${f.id === data.framework ? new Html(' selected') : ''}>${f.label}</option>`)}
      </select></label
    >
    <label
      >Period (quarter)<input name="period" value="${data.period ?? ''}" placeholder="2026-Q3" pattern="\\d{4}-Q[1-4]" size="9"
    /></label>
    <button type="submit">Show</button>
  </form>`;
  const rows = data.rows.map((r) => [
    html`<strong>${frameworkLabel(r.framework)}</strong><br /><span class="muted">${r.id}</span>`,
    html`${day(r.periodFrom)} to ${day(r.periodTo)}${r.provisional ? html`<br />${badge('incomplete', 'provisional')}` : ''}`,
    when(r.generatedAt),
    html`<a href="/reports/${encodeURIComponent(r.id)}/json" download>JSON</a> ·
      <a href="/reports/${encodeURIComponent(r.id)}/pdf" download>PDF</a> ·
      <a href="/reports/${encodeURIComponent(r.id)}/csv" download>CSV</a> ·
      <a href="/reports/${encodeURIComponent(r.id)}/oscal" download>OSCAL</a
      >${r.hasManifest ? html` · <a href="/reports/${encodeURIComponent(r.id)}/manifest" download>signed manifest</a>` : ''}`,
    verificationBadge(r.verification),
  ]);
  const build = atLeast(user.role, 'reviewer')
    ? html`<section aria-labelledby="build">
        <h2 id="build">Build a report</h2>
        <form method="post" action="/reports" class="stack">
          ${csrfField(user.csrfToken)}
          <label
            >Framework<select name="framework">
              ${FRAMEWORKS.map((f) => html`<option value="${f.id}">${f.label}</option>`)}
            </select></label
          >
          <label>Quarter<input name="period" value="${data.defaultQuarter}" pattern="\\d{4}-Q[1-4]" size="9" /></label>
          <span class="muted">or</span>
          <label>From (date)<input type="date" name="from" /></label><label>To (date, exclusive)<input type="date" name="to" /></label>
          <button type="submit">Build, sign and store</button>
        </form>
        <p class="muted">Building evaluates every rule for the period; it takes a while on a large store.</p>
      </section>`
    : html`<p class="muted">Building reports needs the reviewer or admin role; you are a viewer.</p>`;
  const body = html`${filters}${table('Stored reports, newest first', ['Report', 'Period', 'Generated', 'Download', 'Verification'], rows, { empty: 'No reports match.' })}
  ${data.nextCursor ? html`<p><a href="/reports${qs({ framework: data.framework, period: data.period, cursor: data.nextCursor })}">Older reports</a></p>` : ''}${build}`;
  return page({ title: 'Reports', current: 'reports', user, body, notice: data.notice });
}

// ---------------------------------------------------------------------------------- findings

export interface FindingView {
  id: string;
  rule: string;
  severity: 'high' | 'medium' | 'low';
  personId: string | null;
  upn: string | null;
  accountId: string | null;
  email: string | null;
  summary: string;
  firstSeen: Date | string | null;
  lastSeen: Date | string | null;
  evidenceCount: number;
}

export interface FindingFilters {
  rule?: string | undefined;
  severity?: string | undefined;
  person?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

function subjectCell(f: Pick<FindingView, 'personId' | 'upn' | 'accountId' | 'email'>): Html {
  const person = f.personId
    ? html`<a href="/people/${encodeURIComponent(f.personId)}">${f.upn ?? f.personId}</a>`
    : f.upn
      ? html`${f.upn}`
      : '';
  const account = f.accountId
    ? html`${person ? new Html('<br>') : ''}<span class="muted">Metabase account ${f.accountId}${f.email ? ` (${f.email})` : ''}</span>`
    : '';
  return html`${person}${account}${!person && !account ? '—' : ''}`;
}

export function findingsPage(
  user: PageUser,
  data: {
    filters: FindingFilters;
    rules: string[];
    rows: FindingView[];
    nextCursor: string | null;
    correlationRunId: number | undefined;
    error?: string | undefined;
  },
): string {
  const f = data.filters;
  const filters = html`<form method="get" action="/findings" class="filters" role="search" aria-label="Filter findings">
    <label
      >Rule<select name="rule">
        <option value="">all rules</option>
        ${data.rules.map((r) => html`<option value="${r}" ${r === f.rule ? new Html(' selected') : ''}>${r}</option>`)}
      </select></label
    >
    <label
      >Severity<select name="severity">
        <option value="">all</option>
        ${['high', 'medium', 'low'].map((s) => html`<option value="${s}" ${s === f.severity ? new Html(' selected') : ''}>${s}</option>`)}
      </select></label
    >
    <label>Person (Entra object id)<input name="person" value="${f.person ?? ''}" size="38" /></label>
    <label>Last seen from<input type="date" name="from" value="${f.from ?? ''}" /></label>
    <label>to (exclusive)<input type="date" name="to" value="${f.to ?? ''}" /></label>
    <button type="submit">Filter</button> <a href="/findings">Clear</a>
  </form>`;
  const rows = data.rows.map((row) => [
    html`<a href="/findings/${encodeURIComponent(row.id)}">${row.id}</a>`,
    row.rule,
    badge(row.severity),
    subjectCell(row),
    row.summary,
    html`${day(row.firstSeen)} to ${day(row.lastSeen)}`,
    String(row.evidenceCount),
  ]);
  const body = html`${filters}${data.error ? html`<p class="error" role="alert">${data.error}</p>` : ''}
  ${data.correlationRunId === undefined ? html`<p class="empty">No correlation has run yet.</p>` : html`<p class="muted">Correlation run ${data.correlationRunId}.</p>`}
  ${table('Findings', ['Finding', 'Rule', 'Severity', 'Subject', 'Summary', 'Seen', 'Evidence'], rows, { empty: 'No findings match these filters.' })}
  ${data.nextCursor ? html`<p><a href="/findings${qs({ ...f, cursor: data.nextCursor })}">Next page</a></p>` : ''}`;
  return page({ title: 'Findings', current: 'findings', user, body });
}

export function findingPage(
  user: PageUser,
  data: {
    finding: FindingView & { detail: unknown };
    evidence: { ref: { source: string; id: string; at: string | null }; records: EvidenceRecord[] }[];
    truncated: number;
  },
): string {
  const f = data.finding;
  const evidence = data.evidence.map(
    ({ ref, records }, i) =>
      html`<section aria-labelledby="ev${i}">
        <h3 id="ev${i}">${ref.source} ${ref.id}${ref.at ? html` <span class="muted">at ${when(ref.at)}</span>` : ''}</h3>
        ${
          records.length === 0
            ? html`<p class="warning">The store holds no record with this id (it may belong to a source removed since).</p>`
            : records.map(
                (r) =>
                  html`<dl class="facts">
                      <dt>Table</dt>
                      <dd>${r.table}</dd>
                      <dt>Source</dt>
                      <dd>${r.sourceId}</dd>
                      <dt>${r.collectedAt ? 'Occurred' : 'Observed'}</dt>
                      <dd>${when(r.at)}</dd>
                      ${
                        r.collectedAt
                          ? html`<dt>First collected</dt>
                              <dd>${when(r.collectedAt)}</dd>`
                          : ''
                      }
                      <dt>Evidence batch</dt>
                      <dd>${String(r.batchId)} (hash-chained; <code>accesstrail verify --store</code>)</dd>
                    </dl>
                    <details open>
                      <summary>Verbatim upstream record</summary>
                      <pre class="raw">
${r.raw === null ? '(absent: the object was no longer present upstream)' : JSON.stringify(r.raw, null, 2)}</pre>
                    </details>`,
              )
        }
      </section>`,
  );
  const body = html`<p><a href="/findings">All findings</a></p>
    <dl class="facts">
      <dt>Rule</dt>
      <dd><a href="/findings?rule=${encodeURIComponent(f.rule)}">${f.rule}</a></dd>
      <dt>Severity</dt>
      <dd>${badge(f.severity)}</dd>
      <dt>Subject</dt>
      <dd>${subjectCell(f)}</dd>
      <dt>Summary</dt>
      <dd>${f.summary}</dd>
      <dt>First seen</dt>
      <dd>${when(f.firstSeen)}</dd>
      <dt>Last seen</dt>
      <dd>${when(f.lastSeen)}</dd>
    </dl>
    <h2>Detail</h2>
    <pre class="raw">${JSON.stringify(f.detail ?? {}, null, 2)}</pre>
    <h2>Evidence records (${f.evidenceCount})</h2>
    ${data.truncated > 0 ? html`<p class="muted">The first ${data.evidence.length} are shown; ${data.truncated} more are in the report's JSON.</p>` : ''}${evidence}`;
  return page({ title: `Finding ${f.id}`, current: 'findings', user, body });
}

// ---------------------------------------------------------------------------------- person

export interface PersonData {
  id: string;
  name: string | null;
  upn: string | null;
  enabled: boolean | null;
  accounts: Account[];
  terminated: { from: Date; to: Date | null; reason: string; approximate: boolean }[];
  timeline: TimelineEvent[];
  window: TimeRange;
  findings: FindingView[];
}

export function personPage(user: PageUser, data: PersonData): string {
  const lanes = [
    { label: 'Entra sign-ins', events: data.timeline.filter((e) => e.lane === 'entra') },
    { label: 'Metabase activity', events: data.timeline.filter((e) => e.lane === 'metabase') },
  ];
  const body = html`<dl class="facts">
      <dt>Entra object id</dt>
      <dd>${data.id}</dd>
      <dt>User principal name</dt>
      <dd>${data.upn ?? '—'}</dd>
      <dt>Account enabled</dt>
      <dd>${data.enabled === null ? 'unknown' : data.enabled ? 'yes' : 'no'}</dd>
    </dl>
    <section aria-labelledby="accounts">
      <h2 id="accounts">Linked Metabase accounts</h2>
      ${table(
        'Metabase accounts linked to this person, and how',
        ['Source', 'Account', 'E-mail', 'Active', 'Link', 'How linked', 'Matched value'],
        data.accounts.map((a) => [
          a.metabaseSourceId,
          String(a.accountId),
          a.email,
          a.active === null ? 'unknown' : a.active ? 'yes' : 'no',
          badge(a.linkStatus === 'linked' ? 'ok' : 'warn', a.linkStatus),
          a.linkMethod,
          a.matchedValue,
        ]),
        { empty: 'No Metabase account is linked to this person.' },
      )}
    </section>
    <section aria-labelledby="terminated">
      <h2 id="terminated">Terminated intervals</h2>
      ${table(
        'When the person counted as terminated',
        ['From', 'To', 'Reason', 'Approximate'],
        data.terminated.map((t) => [when(t.from), t.to ? when(t.to) : 'still terminated', t.reason, t.approximate ? 'yes' : 'no']),
        { empty: 'Not terminated at any time the store knows of.' },
      )}
    </section>
    <section aria-labelledby="timeline">
      <h2 id="timeline">Timeline: Entra sign-ins and Metabase activity</h2>
      <figure class="chart">
        ${eventLanes(lanes, data.window, 'Entra sign-ins and Metabase activity side by side')}
        <figcaption>${day(data.window.from)} to ${day(data.window.to)}; each tick is one event.</figcaption>
      </figure>
      <div class="side-by-side">
        <div>
          <h3>Entra sign-ins</h3>
          ${table(
            'Recent Entra sign-ins',
            ['When', 'What'],
            lanes[0]!.events.slice(0, 15).map((e) => [when(e.at), e.ok ? e.what : html`${badge('bad', 'failed')} ${e.what}`]),
            { empty: 'None in this window.' },
          )}
        </div>
        <div>
          <h3>Metabase activity</h3>
          ${table(
            'Recent Metabase activity',
            ['When', 'What'],
            lanes[1]!.events.slice(0, 15).map((e) => [when(e.at), e.what]),
            { empty: 'None in this window.' },
          )}
        </div>
      </div>
    </section>
    <section aria-labelledby="pfindings">
      <h2 id="pfindings">Findings</h2>
      ${table(
        'Findings about this person',
        ['Finding', 'Rule', 'Severity', 'Summary'],
        data.findings.map((f) => [html`<a href="/findings/${encodeURIComponent(f.id)}">${f.id}</a>`, f.rule, badge(f.severity), f.summary]),
        { empty: 'No findings.' },
      )}
    </section>`;
  return page({ title: data.name ?? data.upn ?? data.id, current: 'findings', user, body });
}

// ---------------------------------------------------------------------------------- coverage

export function coveragePage(user: PageUser, data: { streams: StreamCoverage[]; window: TimeRange }): string {
  const rows = data.streams.map((s) => ({ label: `${s.sourceId} · ${s.stream}`, covered: s.coverage, gaps: s.gaps }));
  const body = html`<p>
      What the store holds, per source and stream, over the last
      ${Math.round((data.window.to.getTime() - data.window.from.getTime()) / 86_400_000)} days. A gap is time for which the store cannot say
      that nothing happened; rules that need it report "not evaluable" there.
    </p>
    ${
      rows.length
        ? html`<figure class="chart">
            ${coverageTimeline(rows, data.window, 'Collected ranges and gaps per source and stream')}
            <figcaption>${day(data.window.from)} to ${day(data.window.to)}.</figcaption>
          </figure>`
        : ''
    }
    ${table(
      'Gaps per source and stream',
      ['Source', 'Stream', 'Collected ranges', 'Gaps in the window'],
      data.streams.map((s) => [
        s.sourceId,
        s.stream,
        s.coverage.map((r) => `${when(r.from)} – ${when(r.to)}`).join('; ') || 'none',
        s.gaps.length ? s.gaps.map((r) => `${when(r.from)} – ${when(r.to)}`).join('; ') : 'none',
      ]),
      { empty: 'Nothing collected yet.' },
    )}`;
  return page({ title: 'Coverage', current: 'coverage', user, body });
}

// ---------------------------------------------------------------------------------- collections

export interface CollectionRunView {
  id: number;
  kind: string;
  status: string;
  requested: Record<string, unknown>;
  startedAt: Date;
  finishedAt: Date | null;
  streams: { sourceId: string; stream: string; records: number | null; quarantined: number | null }[];
  progress: { sourceId: string; stream: string; at: Date }[];
  error: string | null;
}

export function collectionsPage(user: PageUser, data: { runs: CollectionRunView[]; notice?: string | undefined; busy: boolean }): string {
  const start = atLeast(user.role, 'admin')
    ? html`<section aria-labelledby="start">
        <h2 id="start">Start a collection</h2>
        ${data.busy ? html`<p class="notice">A collection is running in this process; a new one can start when it ends.</p>` : ''}
        <form method="post" action="/collections" class="stack">
          ${csrfField(user.csrfToken)}<label
            >Source<select name="source">
              <option value="all">all sources</option>
              <option value="entra">Entra ID</option>
              <option value="metabase">Metabase</option>
            </select></label
          ><button type="submit">Start collecting</button>
        </form>
      </section>`
    : html`<p class="muted">Starting a collection needs the admin role.</p>`;
  const rows = data.runs.map((r) => [
    String(r.id),
    r.kind,
    badge(r.status),
    when(r.startedAt),
    r.finishedAt ? when(r.finishedAt) : 'running',
    r.streams.length
      ? html`${r.streams.map((s) => html`${s.sourceId} ${s.stream}: ${s.records ?? '?'} records${s.quarantined ? `, ${s.quarantined} quarantined` : ''}<br />`)}`
      : r.progress.length
        ? html`${r.progress.map((p) => html`${p.sourceId} ${p.stream}: checkpoint at ${when(p.at)}<br />`)}`
        : '—',
    r.error ? html`<span class="error">${r.error}</span>` : '—',
  ]);
  const body = html`${start}
    <section aria-labelledby="runs">
      <h2 id="runs">Collection runs</h2>
      ${table('Collection runs, newest first', ['Run', 'Kind', 'Status', 'Started', 'Finished', 'Progress', 'Error'], rows, { empty: 'No collection has run yet.' })}
    </section>`;
  return page({ title: 'Collections', current: 'collections', user, body, notice: data.notice });
}
