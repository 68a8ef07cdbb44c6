// One doctor check's outcome. Every check is a small function returning one of these;
// the command prints one line per check and exits 0 only when no check failed.
//
// status: pass  ✓ the thing works;
//         fail  ✗ a required thing does not work (the command exits 1);
//         warn  ! an optional thing is missing (e.g. risk fields without P2) or a
//                 required one will soon break (a secret expiring in 10 days);
//         skip  – not evaluable here (its prerequisite failed, or it is not configured):
//                 never a pass.

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export type CheckArea = 'entra' | 'metabase' | 'store';

export interface Check {
  area: CheckArea;
  name: string;
  status: CheckStatus;
  /** True only for pass. */
  ok: boolean;
  /** What was found (never a secret). */
  detail: string;
  /** What to do about it, for fail and warn. */
  fix?: string;
}

const make =
  (status: CheckStatus) =>
  (area: CheckArea, name: string, detail: string, fix?: string): Check => ({
    area,
    name,
    status,
    ok: status === 'pass',
    detail,
    ...(fix ? { fix } : {}),
  });

export const pass = make('pass');
export const fail = make('fail');
export const warn = make('warn');
export const skip = make('skip');

/** A failing check when `required`, else a warning. */
export function failOrWarn(required: boolean, area: CheckArea, name: string, detail: string, fix?: string): Check {
  return (required ? fail : warn)(area, name, detail, fix);
}

export interface DoctorSummary {
  ok: boolean;
  passed: number;
  failed: number;
  warnings: number;
  skipped: number;
}

export function summarise(checks: readonly Check[]): DoctorSummary {
  const count = (status: CheckStatus) => checks.filter((c) => c.status === status).length;
  const failed = count('fail');
  return { ok: failed === 0, passed: count('pass'), failed, warnings: count('warn'), skipped: count('skip') };
}
