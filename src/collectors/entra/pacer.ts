// Paces requests to a sliding-window limit (Graph reporting APIs: 5 requests per 10 s
// per app and tenant, spec §4.5) so a long collection uses the allowance without running
// into 429s. A 429's Retry-After pauses every caller, not just the one that got it.

export interface PacerLimit {
  requests: number;
  windowMs: number;
}

export interface Pacer {
  /** Resolves when a request may be sent; returns how long the caller waited. */
  take(signal?: AbortSignal): Promise<number>;
  /** Nobody may send before `ms` from now (Retry-After). */
  pause(ms: number): void;
  /** Total time callers spent waiting. */
  readonly waitedMs: number;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `limit` null = no pacing. The margin keeps us just under the server's own window,
 *  whose clock starts when our request arrives, a little after we sent it. */
export function createPacer(limit: PacerLimit | null, now: () => number = Date.now): Pacer {
  const sent: number[] = [];
  let pausedUntil = 0;
  let waitedMs = 0;
  let queue: Promise<void> = Promise.resolve();
  const margin = limit ? Math.max(25, Math.round(limit.windowMs * 0.02)) : 0;

  async function acquire(signal?: AbortSignal): Promise<number> {
    let waited = 0;
    for (;;) {
      const t = now();
      let readyAt = pausedUntil;
      if (limit) {
        while (sent.length && sent[0]! <= t - limit.windowMs - margin) sent.shift();
        if (sent.length >= limit.requests) readyAt = Math.max(readyAt, sent[0]! + limit.windowMs + margin);
      }
      if (readyAt <= t) {
        if (limit) sent.push(t);
        return waited;
      }
      await sleep(readyAt - t, signal);
      waited += readyAt - t;
    }
  }

  return {
    take(signal) {
      // One caller at a time, in arrival order: the window log stays exact.
      const result = queue.then(() => acquire(signal));
      queue = result.then(
        () => undefined,
        () => undefined,
      );
      return result.then((waited) => {
        waitedMs += waited;
        return waited;
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
