// File names of report artefacts: <framework>-<period>-<shortHash>. The period reads
// as a quarter (2026-Q3) when it is exactly one, else as from_to dates; the short hash
// keeps two reports of one period apart.
import type { ReportModel } from '../model.js';

export function periodLabel(period: { from: string; to: string }): string {
  const from = new Date(period.from);
  const to = new Date(period.to);
  const month = from.getUTCMonth();
  const isQuarterStart = month % 3 === 0 && from.getUTCDate() === 1 && from.getTime() % 86_400_000 === 0;
  if (isQuarterStart) {
    const end = new Date(Date.UTC(from.getUTCFullYear(), month + 3, 1));
    if (end.getTime() === to.getTime()) return `${from.getUTCFullYear()}-Q${month / 3 + 1}`;
  }
  const day = (date: Date) => date.toISOString().slice(0, 10).replace(/-/g, '');
  return `${day(from)}_${day(to)}`;
}

export function reportBaseName(model: Pick<ReportModel, 'framework' | 'period' | 'integrity'>): string {
  const short = model.integrity?.contentSha256.slice(0, 12) ?? 'unsigned';
  return `${model.framework}-${periodLabel(model.period)}-${short}`;
}
