// Server-rendered HTML: escaping, the page frame (landmarks, skip link, navigation,
// sign-out form) and small building blocks. No script anywhere: reading, filtering and
// downloading are links and forms; the CSP forbids scripts outright.
import type { ConsoleRole } from './session.repository.js';

/** Text for HTML content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A piece of HTML that is already safe (built from esc'd parts). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Tagged template: interpolated values are escaped unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return esc(value);
}

export function when(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return '—';
  return date
    .toISOString()
    .replace('T', ' ')
    .replace(/:\d\d\.\d{3}Z$/, ' UTC');
}

export function day(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return (value instanceof Date ? value : new Date(value)).toISOString().slice(0, 10);
}

export function badge(kind: string, text?: string): Html {
  return html`<span class="badge badge-${kind.replace(/[^a-z-]/g, '')}">${text ?? kind}</span>`;
}

export interface PageUser {
  displayName: string | null;
  username: string | null;
  role: ConsoleRole;
  csrfToken: string;
}

const NAV: { href: string; label: string; id: string }[] = [
  { href: '/', label: 'Overview', id: 'overview' },
  { href: '/reports', label: 'Reports', id: 'reports' },
  { href: '/findings', label: 'Findings', id: 'findings' },
  { href: '/coverage', label: 'Coverage', id: 'coverage' },
  { href: '/collections', label: 'Collections', id: 'collections' },
];

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}" />`;
}

export function page(input: {
  title: string;
  current?: string;
  user?: PageUser;
  body: Html | Html[];
  notice?: string | undefined;
}): string {
  const nav = input.user
    ? html`<nav aria-label="Main">
          <ul>
            ${NAV.map((item) => html`<li><a href="${item.href}" ${item.id === input.current ? new Html(' aria-current="page"') : ''}>${item.label}</a></li>`)}
          </ul>
        </nav>
        <div class="who">
          <span>${input.user.displayName ?? input.user.username ?? 'signed in'} · ${input.user.role}</span>
          <form method="post" action="/sign-out" class="inline">
            ${csrfField(input.user.csrfToken)}<button type="submit">Sign out</button>
          </form>
        </div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(input.title)} · accesstrail</title><link rel="stylesheet" href="/console.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="top"><a class="brand" href="/">accesstrail</a>${nav}</header>
<main id="main" tabindex="-1"><h1>${esc(input.title)}</h1>${input.notice ? `<p class="notice" role="status">${esc(input.notice)}</p>` : ''}
${render(input.body)}</main>
<footer><p>accesstrail console · evidence from Entra ID and Metabase · times in UTC</p></footer>
</body></html>`;
}

export function table(
  caption: string,
  headers: string[],
  rows: (Html | string | number | null)[][],
  options: { empty?: string } = {},
): Html {
  if (rows.length === 0) return html`<p class="empty">${options.empty ?? 'Nothing to show.'}</p>`;
  return html`<div class="table-wrap">
    <table>
      <caption>
        ${caption}
      </caption>
      <thead>
        <tr>
          ${headers.map((h) => html`<th scope="col">${h}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (row) =>
            html`<tr>
              ${row.map((cell) => html`<td>${cell ?? '—'}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
