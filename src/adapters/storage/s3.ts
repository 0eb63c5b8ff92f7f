import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { OutboundRefusedError } from '../net/outbound.js';
import { networkFailure } from './network-errors.js';
import { type PutOptions, type RemoteStore, type S3Secrets, type S3Settings, StorageError } from './types.js';

/** Parts are buffered in memory: partSize × (queueSize + 1) bounds what an upload holds at once. */
const PART_SIZE = 8 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** An S3-compatible bucket through the AWS SDK v3. */
export class S3Store implements RemoteStore {
  /** Only SFTP pins a host key; S3 relies on TLS. */
  readonly hostKeyFingerprint: string | null = null;
  private readonly client: S3Client;
  private readonly where: string;
  private readonly host: string;

  /**
   * `lookup` resolves and checks every name the SDK connects to (the endpoint, or a bucket's virtual
   * host), so the socket gets the address that was checked; TLS still verifies the name.
   */
  constructor(
    private readonly settings: S3Settings,
    secrets: S3Secrets,
    options: { lookup?: LookupFunction } = {},
  ) {
    this.host = settings.endpoint ? hostOf(settings.endpoint) : `s3.${settings.region}.amazonaws.com`;
    this.where = settings.endpoint ? originOf(settings.endpoint) : `AWS S3 (${settings.region})`;
    this.client = new S3Client({
      region: settings.region || 'us-east-1',
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.forcePathStyle,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: secrets.secretAccessKey },
      // The SDK's default flexible checksums (CRC trailers) break on s3rver and on some S3 look-alikes (older B2, R2).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 15_000,
        socketTimeout: 300_000,
        ...(options.lookup
          ? {
              httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 50, lookup: options.lookup }),
              httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 50, lookup: options.lookup }),
            }
          : {}),
      },
      maxAttempts: 3,
    });
  }

  /**
   * Checks that the endpoint answers, the keys are accepted and the bucket exists by reading an
   * object that is not there: unlike HeadBucket, a GET's error answer has a body naming the precise
   * problem. NoSuchKey is success; AccessDenied passes too, since a write-only key may not read and
   * the write that follows will say whether it may write.
   */
  async connect(): Promise<void> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(`.marina-none-${nonce()}`) }),
      );
      (answer.Body as Readable | undefined)?.destroy();
    } catch (error) {
      const failure = this.failure(error);
      if (failure.reason !== 'not-found' && failure.reason !== 'permission') throw failure;
    }
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<{ bytes: number }> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.settings.bucket, Key: this.keyOf(key), Body: body },
      partSize: PART_SIZE,
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false,
    });
    let bytes = 0;
    upload.on('httpUploadProgress', (progress) => {
      if (progress.loaded !== undefined && progress.loaded > bytes) {
        bytes = progress.loaded;
        options.onProgress?.(bytes);
      }
    });
    const { signal } = options;
    signal?.throwIfAborted();
    const abort = () => void upload.abort().catch(() => undefined);
    signal?.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
      return { bytes };
    } catch (error) {
      // The SDK stops reading on failure; a source left half-read would hold its file open.
      body.destroy();
      if (signal?.aborted) throw signal.reason;
      throw this.failure(error, key);
    } finally {
      signal?.removeEventListener('abort', abort);
    }
  }

  async get(key: string): Promise<Readable> {
    try {
      const answer = await this.client.send(
        new GetObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(key) }),
      );
      const body = answer.Body;
      if (!(body instanceof Readable)) throw new StorageError('other', `${this.where} answered without a body.`);
      return body;
    } catch (error) {
      throw this.failure(error, key);
    }
  }

  async stat(key: string): Promise<{ size: number } | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(key) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (nameOf(error) === 'NotFound' || nameOf(error) === 'NoSuchKey' || statusOf(error) === 404) return null;
      throw this.failure(error, key);
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: this.keyOf(key) }));
    } catch (error) {
      if (nameOf(error) === 'NoSuchKey') return;
      throw this.failure(error, key);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  /** `prefix/key` with single slashes whatever the prefix and key look like. */
  keyOf(key: string): string {
    const parts = [...this.settings.prefix.split('/'), ...key.split('/')].filter((p) => p !== '');
    return parts.join('/');
  }

  /** Turns whatever the SDK threw into a reason and a message a person can act on. */
  failure(error: unknown, key?: string): StorageError {
    if (error instanceof StorageError) return error;
    const options = { cause: error };
    const bucket = this.settings.bucket;
    const where = this.where;
    switch (nameOf(error)) {
      case 'NoSuchBucket':
        return new StorageError('bucket-missing', `The bucket "${bucket}" does not exist at ${where}.`, options);
      case 'InvalidAccessKeyId':
        return new StorageError(
          'auth',
          `${where} does not know the access key "${this.settings.accessKeyId}": check the access key ID.`,
          options,
        );
      case 'SignatureDoesNotMatch':
        return new StorageError(
          'auth',
          `${where} knows the access key "${this.settings.accessKeyId}" but the secret key is wrong: check the secret.`,
          options,
        );
      case 'AccessDenied':
      case 'AllAccessDisabled':
        return new StorageError(
          'permission',
          `${where} refused access to ${key ? `the object ${this.keyOf(key)} in ` : ''}the bucket "${bucket}": the access key "${this.settings.accessKeyId}" lacks the permission.`,
          options,
        );
      case 'Forbidden':
        // A HEAD answer has no body to say why: it may be the permission or the keys.
        return new StorageError(
          'permission',
          `${where} answered 403 Forbidden for ${key ? `the object ${this.keyOf(key)} in ` : ''}the bucket "${bucket}": check the keys and their permissions.`,
          options,
        );
      case 'RequestTimeTooSkewed':
        return new StorageError(
          'clock-skew',
          `${where} rejected the request because this server's clock is off: check the server clock (NTP).`,
          options,
        );
      case 'NoSuchKey':
      case 'NotFound':
        return new StorageError(
          'not-found',
          `There is no object ${key ? this.keyOf(key) : ''} in the bucket "${bucket}" at ${where}.`,
          options,
        );
      case 'PermanentRedirect':
      case 'AuthorizationHeaderMalformed':
      case 'IllegalLocationConstraintException':
        return new StorageError(
          'other',
          `The bucket "${bucket}" is in another region than "${this.settings.region}": set the bucket's region.`,
          options,
        );
      case 'SlowDown':
      case 'ServiceUnavailable':
      case 'InternalError':
        return new StorageError('other', `${where} is busy or failing (${nameOf(error)}); try again later.`, options);
    }
    if (statusOf(error) === 404)
      return new StorageError(
        'not-found',
        `${where} answered 404 for ${key ? this.keyOf(key) : 'the request'}.`,
        options,
      );
    const refused = refusalIn(error);
    if (refused) return new StorageError('refused', refused.message, options);
    const network = networkFailure(error, this.host, where);
    if (network) return network;
    const detail = error instanceof Error ? error.message : String(error);
    const status = statusOf(error);
    return new StorageError(
      'other',
      `${where} failed${status ? ` with HTTP ${status}` : ''}: ${nameOf(error) ?? 'error'}: ${detail}`,
      options,
    );
  }
}

function hostOf(endpoint: string): string {
  try {
    return new URL(endpoint).hostname;
  } catch {
    return endpoint;
  }
}

/** Scheme, host and port only: never user info a URL might carry. */
function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return endpoint;
  }
}

/** A connection the outbound guard refused at lookup time (a bucket's virtual host, or DNS that changed). */
function refusalIn(error: unknown, depth = 0): OutboundRefusedError | null {
  if (error instanceof OutboundRefusedError) return error;
  if (typeof error !== 'object' || error === null || depth > 3) return null;
  return refusalIn((error as { cause?: unknown }).cause, depth + 1);
}

function nonce(): string {
  return randomBytes(6).toString('hex');
}

function nameOf(error: unknown): string | undefined {
  if (error instanceof S3ServiceException) return error.name;
  if (error instanceof Error) return error.name;
  return undefined;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('$metadata' in error)) return undefined;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  return metadata?.httpStatusCode;
}
