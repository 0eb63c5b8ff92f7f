import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { guardedLookup, type OutboundGuard, OutboundLookupError, OutboundRefusedError } from '../net/outbound.js';
import type { S3Store } from './s3.js';
import type { SftpStore } from './sftp.js';
import {
  type ProbeResult,
  type ProbeStep,
  type RemoteStore,
  StorageError,
  type StorageFailure,
  type StoreTarget,
} from './types.js';

export type OpenStore = RemoteStore & { hostKeyFingerprint: string | null };

/** Where an S3 target connects: its endpoint, or AWS's regional one. */
function s3HostPort(settings: Extract<StoreTarget, { kind: 's3' }>['settings']): { host: string; port: number } {
  if (!settings.endpoint) return { host: `s3.${settings.region}.amazonaws.com`, port: 443 };
  const url = new URL(settings.endpoint);
  return { host: url.hostname, port: url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443 };
}

/**
 * The AWS SDK and ssh2 are loaded when a destination is first used: they weigh tens of MB. The
 * address is checked before anything connects; a refused one throws OutboundRefusedError.
 */
async function storeFor(
  target: StoreTarget,
  guard: OutboundGuard,
  options: { allowUnpinned?: boolean } = {},
): Promise<S3Store | SftpStore> {
  if (target.kind === 's3') {
    const { host, port } = s3HostPort(target.settings);
    // An IP literal never reaches a lookup function: it is checked here, names again at each connect.
    await guard.check(host, port);
    const { S3Store } = await import('./s3.js');
    return new S3Store(target.settings, target.secrets, { lookup: guardedLookup(guard, port) });
  }
  const checked = await guard.check(target.settings.host, target.settings.port);
  const { SftpStore } = await import('./sftp.js');
  return new SftpStore(target.settings, target.secrets, {
    address: checked.address,
    allowUnpinned: options.allowUnpinned === true,
  });
}

function asStorageError(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  if (error instanceof OutboundRefusedError) return new StorageError('refused', error.message, { cause: error });
  if (error instanceof OutboundLookupError)
    return new StorageError(
      'dns',
      `The host name "${error.host}" cannot be resolved: check the spelling and this server's DNS.`,
      { cause: error },
    );
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError('other', message, { cause: error });
}

/**
 * A connected store; rejects with a StorageError saying precisely what is wrong. An SFTP server
 * must have a pinned host key: uploads and downloads never go to a host that was not pinned.
 */
export async function openStore(target: StoreTarget, guard: OutboundGuard): Promise<OpenStore> {
  let store: S3Store | SftpStore;
  try {
    store = await storeFor(target, guard);
  } catch (error) {
    throw asStorageError(error);
  }
  try {
    await store.connect();
    return store;
  } catch (error) {
    await store.close().catch(() => undefined);
    throw asStorageError(error);
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/**
 * Connects, writes a small probe object, reads it back, compares and deletes it, timing each step.
 * Never throws for a storage failure: the first one is in `error`, and the steps show how far it got.
 * A refused address throws OutboundRefusedError before anything connects: no steps, no timings,
 * so the test cannot map internal hosts. An SFTP server not pinned yet is accepted: this is the
 * test that pins it.
 */
export async function probeStore(target: StoreTarget, guard: OutboundGuard): Promise<ProbeResult> {
  const steps: ProbeStep[] = [];
  let error: { reason: StorageFailure; message: string } | null = null;
  let store: S3Store | SftpStore;
  try {
    store = await storeFor(target, guard, { allowUnpinned: true });
  } catch (thrown) {
    if (!(thrown instanceof OutboundLookupError)) throw thrown;
    const failure = asStorageError(thrown);
    return {
      ok: false,
      steps: [],
      error: { reason: failure.reason, message: failure.message },
      hostKeyFingerprint: null,
    };
  }
  const step = async (name: ProbeStep['step'], work: () => Promise<void>): Promise<boolean> => {
    const started = performance.now();
    try {
      await work();
      steps.push({ step: name, ok: true, ms: Math.round(performance.now() - started) });
      return true;
    } catch (thrown) {
      steps.push({ step: name, ok: false, ms: Math.round(performance.now() - started) });
      const failure = asStorageError(thrown);
      error ??= { reason: failure.reason, message: failure.message };
      return false;
    }
  };

  const key = `.marina-probe-${randomBytes(8).toString('hex')}`;
  const content = Buffer.concat([Buffer.from('Marina destination probe\n'), randomBytes(32)]);
  try {
    if (await step('connect', () => store.connect())) {
      const written = await step('write', async () => {
        await store.put(key, Readable.from([content]));
      });
      if (written) {
        await step('read', async () => {
          const back = await readAll(await store.get(key));
          if (!back.equals(content))
            throw new StorageError(
              'integrity',
              `The probe read back differs from what was written (${back.length} bytes where ${content.length} were written).`,
            );
        });
        // Deleted even when the read failed: a probe must not leave litter behind.
        await step('delete', () => store.remove(key));
      }
    }
  } finally {
    await store.close().catch(() => undefined);
  }
  return { ok: error === null, steps, error, hostKeyFingerprint: store.hostKeyFingerprint };
}
