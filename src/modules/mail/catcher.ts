import { createHash, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { SMTPServer, SMTPServerAddress } from 'smtp-server';
import type { MailCatcherConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import { lazyImport } from '../../platform/lazy.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { MailStore } from './store.js';

export interface MailCatcherDeps {
  db: Db;
  box: SecretBox;
  logger: Logger;
  store: MailStore;
  config: MailCatcherConfig;
}

/** Who logged in: the instance the message is filed under. */
interface CatcherUser {
  instanceId: string;
  organizationId: string;
}

/** An SMTP error with the reply code smtp-server sends back. */
function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** smtp-server is loaded when the catcher starts (only with MARINA_MAIL_CATCHER_PORT). */
const loadSmtpServer = lazyImport(() => import('smtp-server'));

/**
 * The Docker bridge's address on this host: every container reaches it through its own network's
 * gateway, since it is an address of the host (the organization networks are ordinary bridges).
 */
export function dockerBridgeAddress(): string {
  const bridge = networkInterfaces().docker0?.find((a) => a.family === 'IPv4');
  return bridge?.address ?? '172.17.0.1';
}

/**
 * Marina's mail catcher: an SMTP server where staging and development instances send their mail.
 * Every session must log in with an instance's own generated credentials, so a message is filed
 * under the instance that sent it and no instance can write into another's inbox; nothing is ever
 * relayed anywhere.
 */
export class MailCatcher {
  private server: SMTPServer | undefined;
  private listeningPort: number | undefined;

  constructor(private readonly deps: MailCatcherDeps) {}

  /** Where instance containers connect (the configured address, else the Docker bridge's). */
  instanceEndpoint(): { host: string; port: number } {
    if (this.listeningPort === undefined) throw new Error('the mail catcher is not listening yet');
    return { host: this.deps.config.instanceHost ?? dockerBridgeAddress(), port: this.listeningPort };
  }

  /** The port it listens on (after start). */
  port(): number {
    if (this.listeningPort === undefined) throw new Error('the mail catcher is not listening yet');
    return this.listeningPort;
  }

  private async authenticate(username: string, password: string): Promise<CatcherUser | null> {
    const row = await this.deps.db
      .selectFrom('instance_mail_servers')
      .innerJoin('instances', 'instances.id', 'instance_mail_servers.id')
      .select([
        'instance_mail_servers.id',
        'instance_mail_servers.organization_id',
        'instance_mail_servers.catcher_password',
        'instances.stage',
      ])
      .where('instance_mail_servers.catcher_username', '=', username)
      .executeTakeFirst();
    // Production never sends here, whatever credentials it may have kept from an earlier stage.
    if (!row?.catcher_password || row.stage === 'production') return null;
    const known = this.deps.box.open(
      row.catcher_password,
      sealedAt('instance_mail_servers', 'catcher_password', row.id),
    );
    return timingSafeEqual(digest(known), digest(password))
      ? { instanceId: row.id, organizationId: row.organization_id }
      : null;
  }

  private async receive(
    stream: NodeJS.ReadableStream & { sizeExceeded?: boolean },
    user: CatcherUser,
    envelope: { from: string | null; to: string[] },
  ): Promise<string> {
    const { store, config } = this.deps;
    const temp = await store.incomingPath(user.instanceId);
    try {
      await pipeline(stream, createWriteStream(temp, { mode: 0o600 }));
      if (stream.sizeExceeded) {
        throw smtpError(552, `Message exceeds the catcher's limit of ${config.maxMessageBytes} bytes`);
      }
      return await store.file({ ...user, ...envelope }, temp);
    } finally {
      await rm(temp, { force: true });
    }
  }

  async start(): Promise<void> {
    const { config, logger } = this.deps;
    await this.deps.store.sweepDeleted();
    const { SMTPServer } = await loadSmtpServer();
    const server = new SMTPServer({
      name: 'marina-mail-catcher',
      banner: 'Marina mail catcher: messages are kept for the inbox and never delivered',
      secure: false,
      disabledCommands: ['STARTTLS'],
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: false,
      // Plain text on the host's bridge: instance containers talk to it without TLS.
      allowInsecureAuth: true,
      size: config.maxMessageBytes,
      maxClients: 200,
      logger: false,
      onAuth: (auth, _session, callback) => {
        this.authenticate(auth.username ?? '', auth.password ?? '').then(
          (user) =>
            user
              ? callback(null, { user })
              : callback(smtpError(535, 'Authentication failed: wrong username or password')),
          (error: unknown) => {
            logger.error({ err: error }, 'mail catcher: authentication lookup failed');
            callback(smtpError(454, 'Temporary authentication failure'));
          },
        );
      },
      onData: (stream, session, callback) => {
        const user = session.user as unknown as CatcherUser | undefined;
        if (!user) {
          stream.resume();
          callback(smtpError(530, 'Authentication required'));
          return;
        }
        const address = (a: SMTPServerAddress | false) => (a ? a.address : null);
        const envelope = {
          from: address(session.envelope.mailFrom),
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        this.receive(stream, user, envelope).then(
          (id) => callback(null, `Caught as ${id}: kept for the inbox, never delivered`),
          (error: Error & { responseCode?: number }) => {
            if (error.responseCode) return callback(error);
            logger.error({ err: error, instanceId: user.instanceId }, 'mail catcher: could not keep a message');
            callback(smtpError(451, 'Could not keep the message, try again later'));
          },
        );
      },
    });
    server.on('error', (error) => logger.warn({ err: error }, 'mail catcher: SMTP session error'));
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(config.port, config.bindAddress, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.listeningPort = (server.server.address() as AddressInfo).port;
    logger.info({ port: this.listeningPort, bind: config.bindAddress }, 'mail catcher listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.listeningPort = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
