// Terminated intervals of a person (rules.md, "Terminated interval"): from the instant
// the account was disabled or deleted, or the person left, until it was re-enabled or
// restored (open-ended if never). Pure; terminations.repository.ts feeds it.
import type { LifecycleEvent } from './directory-audits.js';

export interface TerminatedInterval {
  personId: string;
  start: Date;
  end: Date | null;
  reason: string;
  approximate: boolean;
  evidence: { source: string; id: string; at: Date }[];
}

export interface PersonLifecycle {
  personId: string;
  /** Successful lifecycle audit events of this person (any order). */
  events: readonly LifecycleEvent[];
  /** deletedDateTime from the state at as-of (soft-deleted), or null. */
  deletedAt: Date | null;
  /** The state's tombstone instant when the person vanished from Entra (hard-deleted). */
  vanishedAt: Date | null;
  /** employeeLeaveDateTime from the state at as-of. */
  leaveAt: Date | null;
  /** First snapshot that saw accountEnabled = false after it was last true, when the state at as-of is disabled. */
  disabledSeenAt: Date | null;
}

const startKinds = new Set(['disable', 'delete']);

export function terminatedIntervals(person: PersonLifecycle, asOf: Date): TerminatedInterval[] {
  const intervals: TerminatedInterval[] = [];
  type Step = { at: Date; kind: 'start' | 'end'; reason: string; evidence: { source: string; id: string; at: Date } };
  const steps: Step[] = person.events
    .filter((event) => event.at.getTime() <= asOf.getTime())
    .map((event) => ({
      at: event.at,
      kind: startKinds.has(event.kind) ? ('start' as const) : ('end' as const),
      reason: event.activity,
      evidence: { source: 'entra-directory-audit', id: event.auditId, at: event.at },
    }));
  if (person.deletedAt && person.deletedAt.getTime() <= asOf.getTime()) {
    steps.push({
      at: person.deletedAt,
      kind: 'start',
      reason: 'deletedDateTime',
      evidence: { source: 'entra-user', id: person.personId, at: person.deletedAt },
    });
  }
  // Same instant: a start before an end, so a disable/enable pair leaves a closed interval.
  steps.sort((a, b) => a.at.getTime() - b.at.getTime() || (a.kind === b.kind ? 0 : a.kind === 'start' ? -1 : 1));

  let open: TerminatedInterval | null = null;
  for (const step of steps) {
    if (step.kind === 'start') {
      // A second disable inside an open interval does not move its start.
      if (!open)
        open = { personId: person.personId, start: step.at, end: null, reason: step.reason, approximate: false, evidence: [step.evidence] };
      else open.evidence.push(step.evidence);
    } else if (open) {
      open.end = step.at;
      open.evidence.push(step.evidence);
      intervals.push(open);
      open = null;
    }
  }
  if (open) intervals.push(open);

  if (person.vanishedAt && !intervals.some((i) => i.end === null)) {
    intervals.push({
      personId: person.personId,
      start: person.vanishedAt,
      end: null,
      reason: 'no longer listed in Entra (hard-deleted)',
      approximate: true,
      evidence: [{ source: 'entra-user', id: person.personId, at: person.vanishedAt }],
    });
  }
  // HR's leave date counts even while the account is still enabled: that is itself the
  // failure to deprovision. It ends only when the date is removed or moved ahead, which
  // the state at as-of already reflects.
  if (person.leaveAt && person.leaveAt.getTime() <= asOf.getTime()) {
    intervals.push({
      personId: person.personId,
      start: person.leaveAt,
      end: null,
      reason: 'employeeLeaveDateTime',
      approximate: false,
      evidence: [{ source: 'entra-user', id: person.personId, at: person.leaveAt }],
    });
  }
  if (intervals.length === 0 && person.disabledSeenAt && person.disabledSeenAt.getTime() <= asOf.getTime()) {
    intervals.push({
      personId: person.personId,
      start: person.disabledSeenAt,
      end: null,
      reason: 'accountEnabled = false first seen in a snapshot',
      approximate: true,
      evidence: [{ source: 'entra-user', id: person.personId, at: person.disabledSeenAt }],
    });
  }
  return intervals.sort((a, b) => a.start.getTime() - b.start.getTime());
}

/** The earliest open interval at `at`, if the person is terminated then. */
export function terminatedAt(intervals: readonly TerminatedInterval[], at: Date): TerminatedInterval | undefined {
  return intervals.find((i) => i.start.getTime() <= at.getTime() && (i.end === null || i.end.getTime() > at.getTime()));
}
