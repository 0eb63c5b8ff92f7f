import type { Readable } from 'node:stream';

/** An S3-compatible bucket: AWS, MinIO, Backblaze B2, DigitalOcean Spaces, Cloudflare R2. */
export interface S3Settings {
  /** Empty for AWS itself; https://… for everyone else. */
  endpoint: string | null;
  region: string;
  bucket: string;
  /** Folder inside the bucket, without leading or trailing slash; may be empty. */
  prefix: string;
  forcePathStyle: boolean;
  accessKeyId: string;
}

export interface S3Secrets {
  secretAccessKey: string;
}

/** Any SSH server with SFTP: rsync.net, Hetzner Storage Box, a VPS. */
export interface SftpSettings {
  host: string;
  port: number;
  username: string;
  /** Remote folder; relative paths are relative to the login folder. */
  folder: string;
  /** `SHA256:<base64>` of the server's host key, pinned at first use; null until then. */
  hostKeyFingerprint: string | null;
}

export interface SftpSecrets {
  privateKey?: string;
  privateKeyPassphrase?: string;
  password?: string;
}

export type StoreTarget =
  | { kind: 's3'; settings: S3Settings; secrets: S3Secrets }
  | { kind: 'sftp'; settings: SftpSettings; secrets: SftpSecrets };

/** What went wrong, precisely enough to tell a user what to fix. */
export type StorageFailure =
  | 'dns'
  | 'connect'
  | 'timeout'
  | 'tls'
  | 'auth'
  | 'permission'
  | 'bucket-missing'
  | 'folder-missing'
  | 'not-found'
  | 'clock-skew'
  | 'host-key-changed'
  /** SFTP: no host key is pinned, and uploads go only to a pinned host. */
  | 'host-key-unpinned'
  /** The address is internal and not allow-listed (see adapters/net/outbound.ts). */
  | 'refused'
  | 'integrity'
  | 'other';

export class StorageError extends Error {
  constructor(
    readonly reason: StorageFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StorageError';
  }
}

export interface PutOptions {
  /** Called with the bytes sent so far. */
  onProgress?(bytes: number): void;
  signal?: AbortSignal;
}

/**
 * A remote place for backup files. Keys are relative to the destination's prefix or folder and use
 * `/` separators. A put that fails leaves no object under `key` (SFTP writes `key.partial` and renames).
 */
export interface RemoteStore {
  put(key: string, body: Readable, options?: PutOptions): Promise<{ bytes: number }>;
  get(key: string): Promise<Readable>;
  /** null when there is no such object. */
  stat(key: string): Promise<{ size: number } | null>;
  /** Removing what is not there is not an error. */
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface ProbeStep {
  step: 'connect' | 'write' | 'read' | 'delete';
  ok: boolean;
  ms: number;
}

export interface ProbeResult {
  ok: boolean;
  steps: ProbeStep[];
  error: { reason: StorageFailure; message: string } | null;
  /** SFTP: the host key the server showed, whether pinned already or seen for the first time. */
  hostKeyFingerprint: string | null;
}
