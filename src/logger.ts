// Structured logs (pino) on stderr, so stdout stays for command output. Secret-bearing
// fields are redacted by path wherever they appear.
//
// Format (ACCESSTRAIL_LOG_FORMAT): `json` is one JSON object per line, for files, log
// shippers and services; `pretty` is one short line per entry for people
// (`14:02:07 WARN  message  key=value`); `auto` (the default) picks pretty when stderr is
// a terminal and JSON otherwise, so `serve` under systemd, Docker or a pipe logs JSON.
import { Writable } from 'node:stream';

import { type Logger, pino } from 'pino';

export type { Logger };

export const redactedPaths = [
  'password',
  'secret',
  'clientSecret',
  'client_secret',
  'apiKey',
  'api_key',
  'token',
  'accessToken',
  'access_token',
  'authorization',
  'connectionString',
  '*.password',
  '*.secret',
  '*.clientSecret',
  '*.client_secret',
  '*.apiKey',
  '*.token',
  '*.accessToken',
  '*.access_token',
  '*.authorization',
  '*.connectionString',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
];

export type LogFormat = 'json' | 'pretty' | 'auto';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN_FIELDS = new Set(['level', 'time', 'pid', 'hostname', 'service', 'msg', 'v']);

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value !== null && typeof value === 'object' && 'message' in value) return JSON.stringify((value as { message: unknown }).message);
  return JSON.stringify(value);
}

/** One JSON log line → one line for people (secrets were redacted before this point). */
export function prettyLine(jsonLine: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.trimEnd();
  }
  const time = typeof entry['time'] === 'number' ? new Date(entry['time']).toISOString().slice(11, 19) : '';
  const level = (LEVEL_NAMES[Number(entry['level'])] ?? String(entry['level'])).padEnd(5);
  const fields = Object.entries(entry)
    .filter(([name]) => !HIDDEN_FIELDS.has(name))
    .map(([name, value]) => `${name}=${fieldText(value)}`)
    .join(' ');
  return `${time} ${level} ${String(entry['msg'] ?? '')}${fields ? `  ${fields}` : ''}`;
}

function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') out.write(`${prettyLine(line)}\n`);
      callback();
    },
  });
}

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream; format?: LogFormat } = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const format = options.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && (destination as NodeJS.WriteStream).isTTY === true);
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'accesstrail' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
    },
    pretty ? prettyStream(destination) : options.destination ? (destination as pino.DestinationStream) : stderrJson(),
  );
}

/** JSON lines on stderr written asynchronously: process.stderr writes each line with a
 *  blocking write(2) when it is a file or a pipe, which was a twentieth of the API's CPU at
 *  8,000 requests/s (docs/scale.md, "The API"). Lines written meanwhile are joined into
 *  the next write; pino flushes what is pending when the process exits (its exit
 *  handler), so only a process killed outright (SIGKILL) loses its last lines. */
let stderrDestination: pino.DestinationStream | undefined;
function stderrJson(): pino.DestinationStream {
  // One for the process: every logger made without a destination shares it (a stream
  // each would register an exit handler each and race its writes with the others').
  stderrDestination ??= pino.destination({ dest: 2, sync: false });
  return stderrDestination;
}

/** Replaces the password of a connection string, for messages. */
export function describeConnectionString(value: string): string {
  try {
    const url = new URL(value);
    if (url.password) url.password = '***';
    if (url.username) url.username = url.username;
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return '(unparseable connection string)';
  }
}
