import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import pino, { type Logger, type StreamEntry } from 'pino';
import type PinoPretty from 'pino-pretty';
import type { MarinaConfig } from './config.js';

/**
 * pino-pretty is only loaded for a terminal: a server logs JSON. Loaded synchronously (it is
 * CommonJS), as a logger is made before anything is awaited.
 */
const loadPretty = (): typeof PinoPretty => createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty;

/** Paths whose values never reach a log line, wherever they appear in a logged object. */
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-marina-csrf"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.token',
  'password',
  'token',
];

/** A URL as it may be logged: a push hook's path carries the token that lets anyone trigger it. */
export function loggableUrl(url: string): string {
  return url.replace(/\/hooks\/git\/[^/?#]*/g, '/hooks/git/[redacted]');
}

interface LoggedRequest {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}

/**
 * Fastify's request serializer, with the URL made loggable. Given to the HTTP server's logger
 * (not only here) so that whatever logger the server is handed, tests' included, applies it.
 */
export const requestSerializers = {
  req: (req: LoggedRequest) => ({
    method: req.method,
    url: loggableUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  }),
};

/**
 * JSON lines (pretty in a terminal) on standard output, and — for the server — the same JSON lines
 * in a file that the system log endpoints read.
 */
export function createLogger(config: Pick<MarinaConfig, 'logLevel' | 'logFormat'>, file?: string): Logger {
  const prettyOut = config.logFormat === 'pretty' || (config.logFormat === 'auto' && process.stdout.isTTY === true);
  const streams: StreamEntry[] = [
    {
      level: config.logLevel === 'silent' ? 'fatal' : config.logLevel,
      stream: prettyOut
        ? loadPretty()({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' })
        : process.stdout,
    },
  ];
  if (file) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
    streams.push({
      level: config.logLevel === 'silent' ? 'fatal' : config.logLevel,
      stream: pino.destination({ dest: file, sync: false }),
    });
  }
  return pino(
    { level: config.logLevel, redact: { paths: redactedPaths, censor: '[redacted]' }, base: { service: 'marina' } },
    pino.multistream(streams),
  );
}
