// Progress on a terminal: one line per stream, rewritten in place. Off a terminal
// (CI, cron, pipes) nothing is drawn; the closing summary is printed either way.
import type { ProgressReporter, StreamSummary } from '../collectors/types.js';
import { silentProgress } from '../collectors/types.js';

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  if (!stream.isTTY) return silentProgress;
  const started = new Map<string, number>();
  return {
    update(name, state) {
      const start = started.get(name) ?? Date.now();
      started.set(name, start);
      const seconds = Math.max((Date.now() - start) / 1000, 0.001);
      const parts = [`${name}: ${state.records} records`, `${Math.round(state.records / seconds)}/s`];
      if (state.window) parts.push(`window ${state.window.from.toISOString()} → ${state.window.to.toISOString()}`);
      if (state.throttleWaitMs) parts.push(`throttle waits ${(state.throttleWaitMs / 1000).toFixed(1)} s`);
      if (state.note) parts.push(state.note);
      stream.write(`\r\x1b[2K${parts.join(' · ')}`);
    },
    done(name: string, summary: StreamSummary) {
      stream.write(`\r\x1b[2K${name}: ${summary.records} records, done\n`);
    },
  };
}
