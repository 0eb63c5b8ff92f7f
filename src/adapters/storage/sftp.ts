import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { fingerprintOf } from '../ssh/fingerprint.js';
import { networkFailure } from './network-errors.js';
import { SftpReader, SftpWriter } from './sftp-streams.js';
import { type PutOptions, type RemoteStore, type SftpSecrets, type SftpSettings, StorageError } from './types.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks). */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
const FAILURE = 4;

export interface SftpStoreOptions {
  /** How long the TCP connect, SSH handshake and authentication may take together. */
  readyTimeoutMs?: number;
  /** The address checked for `settings.host` (adapters/net/outbound.ts): ssh2 connects there, never resolving again. */
  address?: string;
  /** Accept a server whose key is not pinned yet (the connection test that pins it); otherwise refuse it. */
  allowUnpinned?: boolean;
}

export { fingerprintOf };

/** Any SSH server with SFTP. Call `connect()` first; the host key is pinned by fingerprint. */
export class SftpStore implements RemoteStore {
  /** The fingerprint the server presented, set during the handshake even when it is refused. */
  hostKeyFingerprint: string | null = null;
  private client: Client | null = null;
  /** Resolves once the client is gone for good (its 'close', or a connect that never started). */
  private gone: Promise<void> = Promise.resolve();
  private markGone: () => void = () => undefined;
  private sftp: SFTPWrapper | null = null;
  /** Aborted with the reason when the connection drops: every running transfer listens to it. */
  private readonly lost = new AbortController();
  private readonly where: string;

  constructor(
    private readonly settings: SftpSettings,
    private readonly secrets: SftpSecrets,
    private readonly options: SftpStoreOptions = {},
  ) {
    this.where = `${settings.host}:${settings.port}`;
  }

  async connect(): Promise<void> {
    const { settings, secrets } = this;
    if (!secrets.privateKey && !secrets.password)
      throw new StorageError('auth', `No private key or password is set for ${settings.username}@${this.where}.`);
    const client = new Client();
    this.client = client;
    this.gone = new Promise<void>((resolve) => {
      this.markGone = resolve;
    });
    client.once('close', () => this.markGone());
    let refused: StorageError | null = null;
    const config: ConnectConfig = {
      host: this.options.address ?? settings.host,
      port: settings.port,
      username: settings.username,
      readyTimeout: this.options.readyTimeoutMs ?? 15_000,
      // A server that vanishes without closing the TCP connection is noticed within about 30 s.
      keepaliveInterval: 10_000,
      keepaliveCountMax: 3,
      hostVerifier: (key: Buffer): boolean => {
        const presented = fingerprintOf(key);
        this.hostKeyFingerprint = presented;
        const expected = settings.hostKeyFingerprint;
        if (expected === null && !this.options.allowUnpinned) {
          refused = new StorageError(
            'host-key-unpinned',
            `No host key is pinned for ${this.where} (it showed ${presented}): nothing is sent to an unpinned server. Run the destination's connection test to pin it.`,
          );
          return false;
        }
        if (expected === null || expected === presented) return true;
        refused = new StorageError(
          'host-key-changed',
          `The host key of ${this.where} changed: expected ${expected}, the server presented ${presented}. ` +
            'If the server was reinstalled or its key rotated on purpose, pin the new key; otherwise someone may be intercepting the connection.',
        );
        return false;
      },
      ...(secrets.privateKey ? { privateKey: secrets.privateKey } : {}),
      ...(secrets.privateKeyPassphrase ? { passphrase: secrets.privateKeyPassphrase } : {}),
      ...(secrets.password ? { password: secrets.password } : {}),
    };
    await new Promise<void>((resolve, reject) => {
      const fail = (error: unknown) => {
        client.removeListener('ready', ready);
        reject(refused ?? this.failure(error, 'connect'));
        client.end();
      };
      const ready = () => {
        client.removeListener('error', fail);
        client.removeListener('close', closed);
        resolve();
      };
      const closed = () =>
        fail(new StorageError('connect', `${this.where} closed the connection during the handshake.`));
      client.once('ready', ready);
      // Not once: ssh2 may report more than one error for one failure, and an unheard one would crash.
      client.on('error', fail);
      client.once('close', closed);
      try {
        client.connect(config);
        // SFTP is request and answer: Nagle would hold each small request for the previous ACK.
        client.setNoDelay(true);
      } catch (error) {
        // ssh2 throws synchronously when the private key cannot be parsed or decrypted.
        client.removeListener('close', closed);
        this.markGone();
        fail(
          new StorageError(
            'auth',
            `The private key cannot be used: ${(error as Error).message.replace(/^Cannot parse privateKey: /, '')} (is the passphrase right?).`,
            { cause: error },
          ),
        );
      }
    });
    const onLost = (error?: Error) => {
      if (this.lost.signal.aborted) return;
      this.lost.abort(
        new StorageError(
          'connect',
          `The connection to ${this.where} was lost${error ? ` (${error.message})` : ''}.`,
          error ? { cause: error } : undefined,
        ),
      );
    };
    client.on('error', onLost);
    client.on('close', () => onLost());
    this.sftp = await new Promise<SFTPWrapper>((resolve, reject) =>
      client.sftp((error, sftp) => (error ? reject(this.failure(error, 'connect')) : resolve(sftp))),
    ).catch((error: unknown) => {
      client.end();
      throw error;
    });
    this.sftp.on('close', () => onLost());
    this.sftp.on('error', onLost);
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<{ bytes: number }> {
    const target = this.pathOf(key);
    const partial = `${target}.partial`;
    const onLost = () => body.destroy(this.lost.signal.reason as Error);
    try {
      const sftp = this.alive();
      options.signal?.throwIfAborted();
      const handle = await this.openForWrite(partial);
      const writer = new SftpWriter(sftp, handle, options.onProgress);
      // ssh2 answers requests in flight when the channel ends, but not ones sent after: stop the
      // transfer as soon as the connection is gone instead of waiting for answers that never come.
      this.lost.signal.addEventListener('abort', onLost, { once: true });
      await pipeline(body, writer, options.signal ? { signal: options.signal } : {});
      await this.replace(partial, target);
      return { bytes: writer.bytes };
    } catch (error) {
      if (!this.lost.signal.aborted)
        await this.call<void>((cb) => this.alive().unlink(partial, cb)).catch(() => undefined);
      if (options.signal?.aborted) throw options.signal.reason;
      throw this.lost.signal.aborted ? this.lost.signal.reason : this.failure(error, 'put', target);
    } finally {
      this.lost.signal.removeEventListener('abort', onLost);
    }
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      const sftp = this.alive();
      const handle = await this.call<Buffer>((cb) => sftp.open(path, 'r', cb));
      const reader = new SftpReader(sftp, handle);
      const onLost = () => reader.destroy(this.lost.signal.reason as Error);
      this.lost.signal.addEventListener('abort', onLost, { once: true });
      reader.once('close', () => this.lost.signal.removeEventListener('abort', onLost));
      return reader;
    } catch (error) {
      throw this.failure(error, 'get', path);
    }
  }

  async stat(key: string): Promise<{ size: number } | null> {
    const path = this.pathOf(key);
    try {
      const sftp = this.alive();
      const stats = await this.call<{ size: number }>((cb) => sftp.stat(path, cb));
      return { size: stats.size };
    } catch (error) {
      if (codeOf(error) === NO_SUCH_FILE) return null;
      throw this.failure(error, 'stat', path);
    }
  }

  async remove(key: string): Promise<void> {
    const path = this.pathOf(key);
    for (const victim of [path, `${path}.partial`]) {
      try {
        const sftp = this.alive();
        await this.call<void>((cb) => sftp.unlink(victim, cb));
      } catch (error) {
        if (codeOf(error) !== NO_SUCH_FILE) throw this.failure(error, 'remove', victim);
      }
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = null;
    this.sftp = null;
    client.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, 2_000);
    });
    await Promise.race([this.gone, late]);
    clearTimeout(timer);
  }

  /** The remote path of a key: under the folder, refusing anything that climbs out of it. */
  pathOf(key: string): string {
    const parts = key.split('/');
    if (key === '' || key.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..'))
      throw new StorageError('other', `"${key}" is not a valid object key.`);
    return this.settings.folder ? posix.join(this.settings.folder, key) : key;
  }

  private alive(): SFTPWrapper {
    if (this.lost.signal.aborted) throw this.lost.signal.reason;
    if (!this.sftp) throw new StorageError('connect', `Not connected to ${this.where}.`);
    return this.sftp;
  }

  private call<T>(start: (callback: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onLost = () => reject(this.lost.signal.reason);
      this.lost.signal.addEventListener('abort', onLost, { once: true });
      try {
        start((error, value) => {
          this.lost.signal.removeEventListener('abort', onLost);
          if (error) reject(error);
          else resolve(value);
        });
      } catch (error) {
        this.lost.signal.removeEventListener('abort', onLost);
        reject(error);
      }
    });
  }

  /** Opens for writing, creating the missing folders on the way at the first refusal. */
  private async openForWrite(path: string): Promise<Buffer> {
    const sftp = this.alive();
    const open = () => this.call<Buffer>((cb) => sftp.open(path, 'w', { mode: 0o600 }, cb));
    try {
      return await open();
    } catch (error) {
      if (codeOf(error) !== NO_SUCH_FILE) throw this.failure(error, 'put', path);
    }
    const folder = posix.dirname(path);
    const mkdirError = await this.makeFolders(folder);
    try {
      return await open();
    } catch (error) {
      if (codeOf(error) !== NO_SUCH_FILE) throw this.failure(error, 'put', path);
      if (codeOf(mkdirError) === PERMISSION_DENIED)
        throw new StorageError(
          'permission',
          `The folder ${folder} does not exist on ${this.where} and ${this.settings.username} may not create it (permission denied): create it or choose another folder.`,
          { cause: mkdirError },
        );
      throw new StorageError(
        'folder-missing',
        `The folder ${folder} does not exist on ${this.where} and cannot be created${mkdirError ? ` (${describeSftp(mkdirError)})` : ''}: create it or choose another folder.`,
        { cause: mkdirError ?? error },
      );
    }
  }

  /** `mkdir -p`; SFTP v3 has no "already exists" status, so every refusal is ignored but the last is kept. */
  private async makeFolders(folder: string): Promise<Error | null> {
    const sftp = this.alive();
    const absolute = folder.startsWith('/');
    const parts = folder.split('/').filter((p) => p !== '' && p !== '.');
    let lastError: Error | null = null;
    for (let i = 1; i <= parts.length; i++) {
      const path = (absolute ? '/' : '') + parts.slice(0, i).join('/');
      try {
        await this.call<void>((cb) => sftp.mkdir(path, cb));
        lastError = null;
      } catch (error) {
        if (this.lost.signal.aborted) throw error;
        lastError = error as Error;
      }
    }
    return lastError;
  }

  /** Moves the finished upload over the target; plain SFTP rename refuses to overwrite. */
  private async replace(from: string, to: string): Promise<void> {
    const sftp = this.alive();
    try {
      await this.call<void>((cb) => sftp.ext_openssh_rename(from, to, cb));
      return;
    } catch (error) {
      // ssh2 throws synchronously when the server lacks posix-rename@openssh.com: fall back below.
      if (!/not support/i.test((error as Error).message)) throw error;
    }
    await this.call<void>((cb) => sftp.unlink(to, cb)).catch((error: unknown) => {
      if (codeOf(error) !== NO_SUCH_FILE) throw error;
    });
    await this.call<void>((cb) => sftp.rename(from, to, cb));
  }

  private failure(
    error: unknown,
    operation: 'connect' | 'put' | 'get' | 'stat' | 'remove',
    path?: string,
  ): StorageError {
    if (error instanceof StorageError) return error;
    const options = { cause: error };
    const who = `${this.settings.username}@${this.where}`;
    const code = codeOf(error);
    if (code === PERMISSION_DENIED)
      return new StorageError(
        'permission',
        `${who} may not ${verbOf(operation)} ${path ?? 'there'} (permission denied).`,
        options,
      );
    if (code === NO_SUCH_FILE) {
      if (operation === 'get')
        return new StorageError('not-found', `There is no file ${path} on ${this.where}.`, options);
      return new StorageError('folder-missing', `The folder of ${path} does not exist on ${this.where}.`, options);
    }
    if (code === FAILURE && operation === 'put')
      return new StorageError(
        'other',
        `${this.where} refused to write ${path ?? 'the file'} (SFTP "Failure"): its disk may be full or a quota reached.`,
        options,
      );
    const message = error instanceof Error ? error.message : String(error);
    const level = (error as { level?: unknown } | null)?.level;
    if (level === 'client-authentication' || /authentication methods failed/i.test(message))
      return new StorageError(
        'auth',
        `${this.where} refused to let ${this.settings.username} in with the ${this.methods()}: check the user name and the ${this.secrets.privateKey ? "key (is its public half in the server's authorized_keys?)" : 'password'}.`,
        options,
      );
    if (level === 'client-timeout')
      return new StorageError(
        'timeout',
        `${this.where} did not complete the SSH handshake in time (${message}): is it an SSH server, and does a firewall drop the traffic?`,
        options,
      );
    if (level === 'client-dns')
      return new StorageError(
        'dns',
        `The host name "${this.settings.host}" cannot be resolved: check the spelling and this server's DNS.`,
        options,
      );
    const network = networkFailure(error, this.settings.host, this.where);
    if (network) return network;
    return new StorageError('other', `SFTP ${operation} on ${this.where} failed: ${describeSftp(error)}`, options);
  }

  private methods(): string {
    const { privateKey, password } = this.secrets;
    if (privateKey && password) return 'private key and the password';
    return privateKey ? 'private key' : 'password';
  }
}

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
}

function describeSftp(error: unknown): string {
  const code = codeOf(error);
  if (code === PERMISSION_DENIED) return 'permission denied';
  if (code === NO_SUCH_FILE) return 'no such file or folder';
  return error instanceof Error ? error.message : String(error);
}

function verbOf(operation: 'connect' | 'put' | 'get' | 'stat' | 'remove'): string {
  return { connect: 'open', put: 'write', get: 'read', stat: 'look at', remove: 'delete' }[operation];
}
