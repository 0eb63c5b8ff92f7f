import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CapturedMessage {
  from: string | null;
  to: string[];
  /** The user that authenticated, or null. */
  user: string | null;
  /** Whether the session ran over TLS (it never does with STARTTLS disabled). */
  secure: boolean;
  raw: string;
  subject: string;
  headers: Record<string, string>;
  /** The body as sent (quoted-printable or 7bit as nodemailer chose it). */
  body: string;
}

export interface SmtpCapture {
  port: number;
  messages: CapturedMessage[];
  /** Resolves with the first captured message (already or later) that matches. */
  waitForMessage(predicate?: (m: CapturedMessage) => boolean, timeoutMs?: number): Promise<CapturedMessage>;
  stop(): Promise<void>;
}

export interface SmtpCaptureOptions {
  /** When set, AUTH PLAIN/LOGIN is required and only this user and password are accepted. */
  auth?: { user: string; password: string };
  /** Offer STARTTLS (with smtp-server's built-in self-signed certificate). Off by default. */
  starttls?: boolean;
}

/** Unfolds headers and decodes RFC 2047 encoded words: enough to read a Subject. */
function parseHeaders(head: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  return headers;
}

function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([^?]+)\?([bq])\?([^?]*)\?=/gi, (_, _charset: string, encoding: string, text: string) =>
      encoding.toLowerCase() === 'b'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(
            text
              .replace(/_/g, ' ')
              .replace(/=([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
            'latin1',
          ).toString('utf8'),
    );
}

/** Decodes quoted-printable soft line breaks and escapes, so tests can search the text. */
export function decodeQuotedPrintable(body: string): string {
  const bytes = Buffer.from(
    body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
    'latin1',
  );
  return bytes.toString('utf8');
}

/** The decoded text/plain part of a message (the whole body when it is not multipart). */
export function textPart(message: CapturedMessage): string {
  const boundary = /boundary="?([^";]+)"?/i.exec(message.headers['content-type'] ?? '')?.[1];
  const parts = boundary
    ? message.body.split(`--${boundary}`).map((part) => {
        const split = part.search(/\r?\n\r?\n/);
        return split === -1
          ? { headers: {} as Record<string, string>, body: '' }
          : { headers: parseHeaders(part.slice(0, split).trim()), body: part.slice(split).replace(/^\r?\n\r?\n/, '') };
      })
    : [{ headers: message.headers, body: message.body }];
  // In a multipart body the preamble and the closing tail have no headers: only real parts count.
  const text = parts.find((part) =>
    (part.headers['content-type'] ?? (boundary ? '' : 'text/plain')).startsWith('text/plain'),
  );
  if (!text) return '';
  const encoding = (text.headers['content-transfer-encoding'] ?? '').toLowerCase();
  if (encoding === 'base64') return Buffer.from(text.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return encoding === 'quoted-printable' ? decodeQuotedPrintable(text.body) : text.body;
}

/** The URLs in a message's text part, decoded, in order (what a reader would click). */
export function links(message: CapturedMessage): string[] {
  return [...textPart(message).matchAll(/https?:\/\/[^\s<>"']+/g)].map((m) => m[0].replace(/[.,;:)]+$/, ''));
}

/** A real SMTP server on 127.0.0.1 and a free port that keeps every message it is given. */
export async function startSmtpCapture(options: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const messages: CapturedMessage[] = [];
  const waiters = new Set<(m: CapturedMessage) => void>();
  const server = new SMTPServer({
    authOptional: options.auth === undefined,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: true,
    disabledCommands: options.starttls ? [] : ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.password) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const split = raw.search(/\r?\n\r?\n/);
        const head = split === -1 ? raw : raw.slice(0, split);
        const body = split === -1 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
        const headers = parseHeaders(head);
        const message: CapturedMessage = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : null,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === 'string' ? session.user : null,
          secure: session.secure,
          raw,
          subject: headers.subject ?? '',
          headers,
          body,
        };
        messages.push(message);
        for (const waiter of waiters) waiter(message);
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    messages,
    waitForMessage(predicate = () => true, timeoutMs = 10_000) {
      const already = messages.find(predicate);
      if (already) return Promise.resolve(already);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching message within ${timeoutMs} ms (${messages.length} captured)`));
        }, timeoutMs);
        const waiter = (m: CapturedMessage) => {
          if (!predicate(m)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(m);
        };
        waiters.add(waiter);
      });
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
