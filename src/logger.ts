// Structured logs (pino) on stderr, so stdout stays for command output. Secret-bearing
// fields are redacted by path wherever they appear.
import { pino, type Logger } from 'pino';

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

export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'accesstrail' },
      redact: { paths: redactedPaths, censor: '[redacted]' },
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
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
