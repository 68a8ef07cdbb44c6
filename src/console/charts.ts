// Charts as server-rendered SVG, in the PDF report's style (src/reports/render/pdf/style.ts):
// its palette, thin grey rules, muted 11px labels, no gradients. Each chart is an
// image with a title and description for screen readers; the pages give the same
// numbers in a table beside it.
import { esc, Html } from './html.js';

export const CHART_COLOURS = {
  text: '#1a1a1a',
  muted: '#5f6368',
  rule: '#c8ccd0',
  accent: '#1f4e79',
  high: '#c62828',
  medium: '#e65100',
  low: '#1f4e79',
  covered: '#2e7d32',
  gap: '#c62828',
  success: '#1f77b4',
  failure: '#d62728',
  neutral: '#9e9e9e',
} as const;

let chartCounter = 0;
function chartId(): string {
  chartCounter = (chartCounter + 1) % 1_000_000;
  return `chart${chartCounter}`;
}

function frame(width: number, height: number, title: string, description: string, body: string): Html {
  const id = chartId();
  return new Html(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-labelledby="${id}t ${id}d" font-family="system-ui, sans-serif" font-size="11">` +
      `<title id="${id}t">${esc(title)}</title><desc id="${id}d">${esc(description)}</desc>${body}</svg>`,
  );
}

/** Horizontal stacked bars: findings per rule split by severity. */
export function severityBars(rows: { label: string; high: number; medium: number; low: number }[], title: string): Html {
  const width = 720;
  const labelWidth = 190;
  const barHeight = 16;
  const gap = 8;
  const top = 8;
  const height = top + rows.length * (barHeight + gap) + 34;
  const max = Math.max(1, ...rows.map((r) => r.high + r.medium + r.low));
  const scale = (width - labelWidth - 50) / max;
  let body = '';
  rows.forEach((row, i) => {
    const y = top + i * (barHeight + gap);
    body += `<text x="${labelWidth - 8}" y="${y + barHeight - 4}" text-anchor="end" fill="${CHART_COLOURS.text}">${esc(row.label)}</text>`;
    let x = labelWidth;
    for (const severity of ['high', 'medium', 'low'] as const) {
      const w = row[severity] * scale;
      if (w > 0)
        body += `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${CHART_COLOURS[severity]}"><title>${esc(`${row.label}: ${row[severity]} ${severity}`)}</title></rect>`;
      x += w;
    }
    body += `<text x="${(x + 6).toFixed(1)}" y="${y + barHeight - 4}" fill="${CHART_COLOURS.muted}">${row.high + row.medium + row.low}</text>`;
  });
  body += `<line x1="${labelWidth}" y1="${top - 2}" x2="${labelWidth}" y2="${height - 30}" stroke="${CHART_COLOURS.rule}"/>`;
  const legendY = height - 12;
  let lx = labelWidth;
  for (const severity of ['high', 'medium', 'low'] as const) {
    body += `<rect x="${lx}" y="${legendY - 9}" width="10" height="10" fill="${CHART_COLOURS[severity]}"/><text x="${lx + 14}" y="${legendY}" fill="${CHART_COLOURS.text}">${severity}</text>`;
    lx += 70;
  }
  const description = rows.map((r) => `${r.label}: ${r.high} high, ${r.medium} medium, ${r.low} low`).join('; ') || 'no findings';
  return frame(width, height, title, description, body);
}

export interface TimelineRow {
  label: string;
  /** Ranges drawn in the covered colour. */
  covered: { from: Date; to: Date }[];
  /** Ranges drawn in the gap colour. */
  gaps: { from: Date; to: Date }[];
}

function axis(from: Date, to: Date, x0: number, x1: number, y: number): string {
  const span = to.getTime() - from.getTime();
  let out = `<line x1="${x0}" y1="${y}" x2="${x1}" y2="${y}" stroke="${CHART_COLOURS.rule}"/>`;
  const ticks = Math.max(2, Math.min(6, Math.floor((x1 - x0) / 110)));
  for (let i = 0; i <= ticks; i++) {
    const t = new Date(from.getTime() + (span * i) / ticks);
    const x = x0 + ((x1 - x0) * i) / ticks;
    out += `<line x1="${x.toFixed(1)}" y1="${y}" x2="${x.toFixed(1)}" y2="${y + 4}" stroke="${CHART_COLOURS.rule}"/>`;
    out += `<text x="${x.toFixed(1)}" y="${y + 16}" text-anchor="${i === 0 ? 'start' : i === ticks ? 'end' : 'middle'}" fill="${CHART_COLOURS.muted}">${t.toISOString().slice(0, 10)}</text>`;
  }
  return out;
}

/** Lanes over a time window: covered ranges and gaps (the coverage page). Each lane's
 *  label sits above it, so long source ids are never cut. */
export function coverageTimeline(rows: TimelineRow[], window: { from: Date; to: Date }, title: string): Html {
  const width = 960;
  const laneHeight = 14;
  const labelHeight = 15;
  const gap = 8;
  const top = 4;
  const x0 = 10;
  const x1 = width - 30;
  const span = window.to.getTime() - window.from.getTime();
  const xOf = (d: Date) =>
    x0 + ((Math.min(Math.max(d.getTime(), window.from.getTime()), window.to.getTime()) - window.from.getTime()) / span) * (x1 - x0);
  const rowHeight = labelHeight + laneHeight + gap;
  const height = top + rows.length * rowHeight + 48;
  let body = '';
  rows.forEach((row, i) => {
    const y = top + i * rowHeight + labelHeight;
    body += `<text x="${x0}" y="${y - 4}" fill="${CHART_COLOURS.text}">${esc(row.label)}</text>`;
    body += `<rect x="${x0}" y="${y}" width="${x1 - x0}" height="${laneHeight}" fill="#f7f8f9" stroke="${CHART_COLOURS.rule}" stroke-width="0.5"/>`;
    for (const range of row.covered) {
      const a = xOf(range.from);
      const b = xOf(range.to);
      if (b > a)
        body += `<rect x="${a.toFixed(1)}" y="${y}" width="${Math.max(b - a, 1).toFixed(1)}" height="${laneHeight}" fill="${CHART_COLOURS.covered}"/>`;
    }
    for (const range of row.gaps) {
      const a = xOf(range.from);
      const b = xOf(range.to);
      if (b > a)
        body += `<rect x="${a.toFixed(1)}" y="${y + 3}" width="${Math.max(b - a, 1.5).toFixed(1)}" height="${laneHeight - 6}" fill="${CHART_COLOURS.gap}"/>`;
    }
  });
  const axisY = top + rows.length * rowHeight + 2;
  body += axis(window.from, window.to, x0, x1, axisY);
  const legendY = axisY + 34;
  body += `<rect x="${x0}" y="${legendY - 9}" width="10" height="10" fill="${CHART_COLOURS.covered}"/><text x="${x0 + 14}" y="${legendY}" fill="${CHART_COLOURS.text}">collected completely</text>`;
  body += `<rect x="${x0 + 150}" y="${legendY - 9}" width="10" height="10" fill="${CHART_COLOURS.gap}"/><text x="${x0 + 164}" y="${legendY}" fill="${CHART_COLOURS.text}">gap (the store cannot say nothing happened)</text>`;
  const description = rows.map((r) => `${r.label}: ${r.covered.length} covered ranges, ${r.gaps.length} gaps`).join('; ') || 'no sources';
  return frame(width, height + 4, title, description, body);
}

/** Two lanes of events side by side (a person's Entra sign-ins and Metabase activity). */
export function eventLanes(
  lanes: { label: string; events: { at: Date; ok: boolean }[] }[],
  window: { from: Date; to: Date },
  title: string,
): Html {
  const width = 960;
  const labelWidth = 150;
  const laneHeight = 26;
  const top = 8;
  const x0 = labelWidth;
  const x1 = width - 10;
  const span = Math.max(window.to.getTime() - window.from.getTime(), 1);
  const xOf = (d: Date) => x0 + ((d.getTime() - window.from.getTime()) / span) * (x1 - x0);
  const height = top + lanes.length * (laneHeight + 8) + 48;
  let body = '';
  lanes.forEach((lane, i) => {
    const y = top + i * (laneHeight + 8);
    body += `<text x="${labelWidth - 8}" y="${y + laneHeight / 2 + 4}" text-anchor="end" fill="${CHART_COLOURS.text}">${esc(lane.label)}</text>`;
    body += `<line x1="${x0}" y1="${y + laneHeight / 2}" x2="${x1}" y2="${y + laneHeight / 2}" stroke="${CHART_COLOURS.rule}"/>`;
    for (const event of lane.events) {
      const x = xOf(event.at);
      if (x < x0 || x > x1) continue;
      body += `<line x1="${x.toFixed(1)}" y1="${y + 4}" x2="${x.toFixed(1)}" y2="${y + laneHeight - 4}" stroke="${event.ok ? CHART_COLOURS.success : CHART_COLOURS.failure}" stroke-width="${event.ok ? 1.5 : 2.5}"/>`;
    }
  });
  const axisY = top + lanes.length * (laneHeight + 8);
  body += axis(window.from, window.to, x0, x1, axisY);
  const legendY = axisY + 34;
  body += `<rect x="${x0}" y="${legendY - 9}" width="10" height="10" fill="${CHART_COLOURS.success}"/><text x="${x0 + 14}" y="${legendY}" fill="${CHART_COLOURS.text}">successful</text>`;
  body += `<rect x="${x0 + 100}" y="${legendY - 9}" width="10" height="10" fill="${CHART_COLOURS.failure}"/><text x="${x0 + 114}" y="${legendY}" fill="${CHART_COLOURS.text}">failed</text>`;
  const description = lanes.map((l) => `${l.label}: ${l.events.length} events`).join('; ');
  return frame(width, height + 4, title, description, body);
}
