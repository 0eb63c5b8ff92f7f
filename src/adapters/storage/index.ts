import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
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

/** The AWS SDK and ssh2 are loaded when a destination is first used: they weigh tens of MB. */
async function storeFor(target: StoreTarget): Promise<S3Store | SftpStore> {
  if (target.kind === 's3') {
    const { S3Store } = await import('./s3.js');
    return new S3Store(target.settings, target.secrets);
  }
  const { SftpStore } = await import('./sftp.js');
  return new SftpStore(target.settings, target.secrets);
}

function asStorageError(error: unknown): StorageError {
  if (error instanceof StorageError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError('other', message, { cause: error });
}

/** A connected store; rejects with a StorageError saying precisely what is wrong. */
export async function openStore(target: StoreTarget): Promise<OpenStore> {
  const store = await storeFor(target);
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
 */
export async function probeStore(target: StoreTarget): Promise<ProbeResult> {
  const store = await storeFor(target);
  const steps: ProbeStep[] = [];
  let error: { reason: StorageFailure; message: string } | null = null;
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
