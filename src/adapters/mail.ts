import { isIP } from 'node:net';

export type SmtpSecurity = 'none' | 'starttls' | 'tls';
export const smtpSecurities: readonly SmtpSecurity[] = ['none', 'starttls', 'tls'];

/** What the mailer needs to reach the server, with the password in the clear: never log or return it. */
export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  username: string | null;
  password: string | null;
  /** An address, or `Name <address>`. */
  from: string;
}

export interface OutgoingMail {
  to: string[];
  subject: string;
  text: string;
  html?: string;
}

export interface SentMail {
  messageId: string;
  /** The server's last reply, as it said it ("250 2.0.0 Ok: queued as 4F2A1"), without secrets. */
  response: string;
  accepted: string[];
  rejected: string[];
}

export type MailFailure = 'connection' | 'timeout' | 'dns' | 'tls' | 'auth' | 'rejected' | 'protocol' | 'unknown';

/** A failure to send, with a message a user can act on and nothing secret in it. */
export class MailError extends Error {
  readonly reason: MailFailure;
  /** The SMTP reply code when the server gave one (535, 550…). */
  readonly responseCode: number | null;

  constructor(reason: MailFailure, message: string, responseCode: number | null = null) {
    super(message);
    this.name = 'MailError';
    this.reason = reason;
    this.responseCode = responseCode;
  }
}

export const CONNECTION_TIMEOUT_MS = 10_000;
// A slow server may take a while to accept a large message, but a stuck one must not hold a job forever.
const SOCKET_TIMEOUT_MS = 30_000;

/** Splits `Name <address>` (name optionally in double quotes) or a bare address. */
export function parseFromAddress(from: string): { name: string | null; address: string } {
  const angle = /^\s*(?:"([^"]*)"|([^<>"]*?))\s*<([^<>\s]+)>\s*$/.exec(from);
  if (angle) {
    const name = (angle[1] ?? angle[2] ?? '').trim();
    return { name: name === '' ? null : name, address: angle[3] ?? '' };
  }
  return { name: null, address: from.trim() };
}

/** nodemailer is loaded when mail is first sent: most of the time Marina sends none (memory). */
async function transport(settings: SmtpSettings) {
  const { default: nodemailer } = await import('nodemailer');
  return nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    // "tls": TLS from the first byte (usually 465). "starttls": upgrade, and refuse a server that cannot.
    // "none": plain text, and no upgrade attempt whose certificate check could fail unexpectedly.
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: CONNECTION_TIMEOUT_MS,
    dnsTimeout: CONNECTION_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    ...(settings.username !== null && settings.password !== null
      ? { auth: { user: settings.username, pass: settings.password } }
      : {}),
    tls: {
      minVersion: 'TLSv1.2',
      // SNI must not carry an IP address; certificates are still checked against the host.
      ...(isIP(settings.host) === 0 ? { servername: settings.host } : {}),
    },
    logger: false,
    debug: false,
  });
}

interface NodemailerFailure {
  code?: unknown;
  originalCode?: unknown;
  responseCode?: unknown;
  response?: unknown;
  message?: unknown;
}

/** Removes the password (and the AUTH PLAIN/LOGIN encodings of it) from text a server or library produced. */
function scrub(text: string, settings: SmtpSettings): string {
  const { password, username } = settings;
  if (!password) return text;
  const secrets = [
    password,
    Buffer.from(password).toString('base64'),
    Buffer.from(`\0${username ?? ''}\0${password}`).toString('base64'),
  ];
  return secrets.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
}

const TLS_CODE = /^(ERR_SSL|ERR_TLS|EPROTO$)|CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/** Turns whatever nodemailer threw into a MailError that names the server and the likely fix. */
export function describeMailError(error: unknown, settings: SmtpSettings): MailError {
  if (error instanceof MailError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as NodemailerFailure;
  const code = typeof e.code === 'string' ? e.code : '';
  const original = typeof e.originalCode === 'string' ? e.originalCode : '';
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  const server = `${settings.host}:${settings.port}`;
  const said = scrub(typeof e.response === 'string' ? e.response : '', settings)
    .trim()
    .slice(0, 300);
  const detail = scrub(typeof e.message === 'string' ? e.message : String(error), settings).slice(0, 300);

  // 530: the server wants a login before it takes mail (some only say so at MAIL FROM).
  if (code === 'EAUTH' || responseCode === 530) {
    return new MailError(
      'auth',
      settings.username === null
        ? `The SMTP server ${server} requires authentication: set a username and password.`
        : `The SMTP server ${server} refused the username or password${said ? ` (${said})` : ''}.`,
      responseCode,
    );
  }
  if (code === 'ETLS' || TLS_CODE.test(original)) {
    const hint =
      settings.security === 'tls'
        ? 'check that the port expects TLS from the start (usually 465; use "starttls" for 587)'
        : settings.security === 'starttls'
          ? 'check that the server offers STARTTLS with a valid certificate for this host name'
          : 'the server wants TLS: choose "starttls" or "tls"';
    return new MailError('tls', `TLS with the SMTP server ${server} failed (${original || detail}): ${hint}.`);
  }
  if (code === 'EDNS' || original === 'ENOTFOUND' || original === 'EAI_AGAIN') {
    return new MailError('dns', `The SMTP host name "${settings.host}" cannot be resolved.`);
  }
  if (original === 'ECONNREFUSED') {
    return new MailError(
      'connection',
      `The SMTP server ${server} refused the connection: are the host and port right?`,
    );
  }
  if (code === 'ETIMEDOUT' || original === 'ETIMEDOUT') {
    return new MailError(
      'timeout',
      `The SMTP server ${server} did not answer in time (a firewall, or the wrong port or security setting).`,
    );
  }
  if (code === 'ESOCKET' || code === 'ECONNECTION') {
    // A server speaking TLS to a plain client (or the reverse) usually just drops the connection.
    return new MailError(
      'connection',
      `The connection to the SMTP server ${server} failed (${original || detail}); check the port and security setting.`,
    );
  }
  if (code === 'EENVELOPE' || code === 'EMESSAGE') {
    return new MailError('rejected', `The SMTP server ${server} refused the message: ${said || detail}`, responseCode);
  }
  if (code === 'EPROTOCOL') {
    return new MailError(
      'protocol',
      `The SMTP server ${server} answered unexpectedly: ${said || detail}`,
      responseCode,
    );
  }
  return new MailError('unknown', `Sending through the SMTP server ${server} failed: ${detail}`, responseCode);
}

/** Sends one message (all recipients on one envelope). Throws a MailError. */
export async function sendMail(settings: SmtpSettings, mail: OutgoingMail): Promise<SentMail> {
  if (mail.to.length === 0) throw new MailError('rejected', 'The message has no recipients.');
  const from = parseFromAddress(settings.from);
  const mailer = await transport(settings);
  try {
    const info = await mailer.sendMail({
      from: from.name === null ? from.address : { name: from.name, address: from.address },
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      ...(mail.html === undefined ? {} : { html: mail.html }),
      // Marina's notices are machine-made: say so, so that vacation responders stay quiet.
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    const addresses = (list: unknown): string[] =>
      Array.isArray(list)
        ? list.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address)))
        : [];
    return {
      messageId: String(info.messageId ?? ''),
      response: scrub(typeof info.response === 'string' ? info.response : '', settings).slice(0, 300),
      accepted: addresses(info.accepted),
      rejected: addresses(info.rejected),
    };
  } catch (error) {
    throw describeMailError(error, settings);
  } finally {
    mailer.close();
  }
}

/** Connects, negotiates TLS and authenticates without sending anything. Throws a MailError. */
export async function verifySmtp(settings: SmtpSettings): Promise<void> {
  const mailer = await transport(settings);
  try {
    await mailer.verify();
  } catch (error) {
    throw describeMailError(error, settings);
  } finally {
    mailer.close();
  }
}
