// Paces requests to a sliding-window limit (Graph reporting APIs: 5 requests per 10 s
// per app and tenant, spec §4.5) so a long collection uses the allowance without running
// into 429s. A 429's Retry-After pauses every caller, not just the one that got it.

export interface PacerLimit {
  requests: number;
  windowMs: number;
}

export interface Pacer {
  /** Resolves when a request may be sent, with how long the caller waited and a
   *  `done` to call when the answer arrived. */
  take(signal?: AbortSignal): Promise<{ waitedMs: number; done: () => void }>;
  /** Nobody may send before `ms` from now (Retry-After). */
  pause(ms: number): void;
  /** Total time callers spent waiting. */
  readonly waitedMs: number;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `limit` null = no pacing.
 *  The server counts a request when it arrives, somewhere between our send and its
 *  answer; the first one also pays for the TLS handshake. So each slot is dated by when
 *  its answer arrived (never earlier than the server's count), a request still in flight
 *  occupies its slot, and a small margin absorbs clock granularity. */
export function createPacer(limit: PacerLimit | null, now: () => number = Date.now): Pacer {
  const slots: { at: number }[] = [];
  let pausedUntil = 0;
  let waitedMs = 0;
  let queue: Promise<void> = Promise.resolve();
  const margin = limit ? Math.max(10, Math.round(limit.windowMs * 0.01)) : 0;

  async function acquire(signal?: AbortSignal): Promise<{ waitedMs: number; done: () => void }> {
    let waited = 0;
    for (;;) {
      const t = now();
      let readyAt = pausedUntil;
      if (limit) {
        while (slots.length && slots[0]!.at <= t - limit.windowMs - margin) slots.shift();
        if (slots.length >= limit.requests) readyAt = Math.max(readyAt, Math.min(...slots.map((s) => s.at)) + limit.windowMs + margin);
      }
      if (readyAt <= t) {
        if (!limit) return { waitedMs: waited, done: () => undefined };
        const slot = { at: Number.POSITIVE_INFINITY };
        slots.push(slot);
        return {
          waitedMs: waited,
          done: () => {
            slot.at = now();
            slots.sort((a, b) => a.at - b.at);
          },
        };
      }
      // An in-flight slot (Infinity) makes readyAt infinite: poll until it is answered.
      const delay = Number.isFinite(readyAt) ? readyAt - t : 5;
      await sleep(delay, signal);
      waited += delay;
    }
  }

  return {
    take(signal) {
      // One caller at a time, in arrival order: the slot log stays exact.
      const result = queue.then(() => acquire(signal));
      queue = result.then(
        () => undefined,
        () => undefined,
      );
      return result.then((granted) => {
        waitedMs += granted.waitedMs;
        return granted;
      });
    },
    pause(ms) {
      pausedUntil = Math.max(pausedUntil, now() + ms);
    },
    get waitedMs() {
      return waitedMs;
    },
  };
}
