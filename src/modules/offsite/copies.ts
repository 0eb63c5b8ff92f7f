import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type Readable, Transform, type TransformCallback, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import type { Static } from 'typebox';
import { BackupFileWriter, Digest } from '../../adapters/archive/backup-file.js';
import { decryptStream, encryptStream } from '../../adapters/storage/encryption.js';
import { openStore } from '../../adapters/storage/index.js';
import { StorageError } from '../../adapters/storage/types.js';
import type { Db } from '../../db/database.js';
import type { Backup, BackupCopy, Destination } from '../../db/schema.js';
import type { Clock } from '../../platform/clock.js';
import { MarinaError } from '../../platform/errors.js';
import type { QuotaGate } from '../../platform/quota.js';
import type { BackupCopy as BackupCopySchema } from '../backups/schemas.js';
import type { BackupStorage } from '../backups/storage.js';
import type { BackupWriter } from '../backups/writer.js';
import type { DestinationService } from './destinations.js';
import { type Mismatch, VerifiedStream } from './verified-stream.js';

/** A backup's copy at one destination, as the API shows it (the `BackupCopy` schema). */
export type CopyView = Static<typeof BackupCopySchema>;

export interface CopyReport {
  /** 0–1 of this copy's work: the upload, then the read-back. */
  progress(fraction: number): void;
  log(message: string, level?: 'info' | 'warn' | 'error'): void;
  /** Waits before the next attempt: a job's wait, which a user may cancel (it then throws). */
  wait?(ms: number, reason: string): Promise<void>;
}

const silent: CopyReport = { progress: () => {}, log: () => {} };

/** Hashes what flows past without keeping it. */
class Sink extends Writable {
  readonly hash = createHash('sha256');
  bytes = 0;
  override _write(chunk: Buffer, _e: BufferEncoding, done: (error?: Error | null) => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done();
  }
}

/** Hashes the plaintext a decryption yields, passing it on. */
class Tap extends Transform {
  readonly hash = createHash('sha256');
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    done(null, chunk);
  }
}

const describe = (error: unknown): string =>
  error instanceof StorageError ? `${error.message} (${error.reason})` : (error as Error).message;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface CopyServiceDeps {
  /** The one writer of backup records: a copy brought back marks the file present again. */
  writer: BackupWriter;
  db: Db;
  clock: Clock;
  destinations: DestinationService;
  storage: BackupStorage;
  retryDelaysMs: readonly number[];
  logger: Logger;
  /** The organization's plan: its offsite allowance (src/modules/plans); none means no limit. */
  quotas?: QuotaGate;
}

/**
 * Copies of backups at offsite destinations. A copy is "verified" only after the object was read
 * back whole and matched what was sent (and, encrypted, decrypted back to the backup's own bytes).
 */
export class CopyService {
  constructor(private readonly deps: CopyServiceDeps) {}

  remoteKey(backup: Backup, encrypted: boolean): string {
    return `${backup.file_name}${encrypted ? '.enc' : ''}`;
  }

  async copiesOf(backupIds: readonly string[]): Promise<Map<string, CopyView[]>> {
    const map = new Map<string, CopyView[]>();
    if (backupIds.length === 0) return map;
    const rows = await this.deps.db
      .selectFrom('backup_copies')
      .innerJoin('destinations', 'destinations.id', 'backup_copies.destination_id')
      .selectAll('backup_copies')
      .select(['destinations.name as destination_name', 'destinations.kind as destination_kind'])
      .where('backup_id', 'in', [...backupIds])
      .orderBy('destinations.name')
      .execute();
    for (const r of rows) {
      const list = map.get(r.backup_id) ?? [];
      list.push({
        destinationId: r.destination_id,
        destinationName: r.destination_name,
        destinationKind: r.destination_kind,
        status: r.status,
        encrypted: r.encrypted,
        sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
        attempts: r.attempts,
        error: r.error,
        verifiedAt: r.verified_at?.toISOString() ?? null,
      });
      map.set(r.backup_id, list);
    }
    return map;
  }

  /** Declares the copies a backup should get, before any byte moves: a crash leaves them visible. */
  async plan(backup: Backup, destinations: readonly Destination[]): Promise<void> {
    for (const d of destinations) {
      await this.deps.db
        .insertInto('backup_copies')
        .values({
          backup_id: backup.id,
          destination_id: d.id,
          status: 'pending',
          remote_key: this.remoteKey(backup, d.encrypted),
          encrypted: d.encrypted,
          updated_at: this.deps.clock.now(),
        })
        .onConflict((oc) =>
          oc.columns(['backup_id', 'destination_id']).doUpdateSet({
            status: 'pending',
            error: null,
            remote_key: this.remoteKey(backup, d.encrypted),
            encrypted: d.encrypted,
            updated_at: this.deps.clock.now(),
          }),
        )
        .execute();
    }
  }

  private async setCopy(backupId: string, destinationId: string, values: Partial<BackupCopy>): Promise<void> {
    const { id: _id, backup_id: _b, destination_id: _d, created_at: _c, ...rest } = values;
    await this.deps.db
      .updateTable('backup_copies')
      .set({
        ...rest,
        size_bytes:
          rest.size_bytes === undefined ? undefined : rest.size_bytes === null ? null : Number(rest.size_bytes),
        updated_at: this.deps.clock.now(),
      })
      .where('backup_id', '=', backupId)
      .where('destination_id', '=', destinationId)
      .execute();
  }

  /**
   * Uploads the local file to one destination and verifies it, retrying with backoff. Throws
   * MARINA_E_COPY_FAILED once every attempt failed; the copy row says why.
   */
  async upload(backup: Backup, destination: Destination, report: CopyReport = silent): Promise<void> {
    if (backup.status !== 'completed' || !backup.sha256)
      throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'Only a completed backup can be copied offsite.');
    if (backup.local_status !== 'present')
      throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'The backup has no local file left to copy from.');
    await this.plan(backup, [destination]);
    // The plan's offsite allowance, now that the size is known: the copy fails, the backup stays.
    const refusal = await this.deps.quotas
      ?.preview(this.deps.db, backup.organization_id, { kind: 'offsite', bytes: Number(backup.size_bytes ?? 0) })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    if (refusal) {
      await this.setCopy(backup.id, destination.id, { status: 'failed', error: (refusal as Error).message });
      report.log(`Not copied to ${destination.name}: ${(refusal as Error).message}`, 'error');
      throw refusal;
    }
    const attempts = this.deps.retryDelaysMs.length + 1;
    let lastError = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      await this.deps.db
        .updateTable('backup_copies')
        .set((eb) => ({
          status: 'uploading',
          error: null,
          attempts: eb('attempts', '+', 1),
          updated_at: this.deps.clock.now(),
        }))
        .where('backup_id', '=', backup.id)
        .where('destination_id', '=', destination.id)
        .execute();
      try {
        const { bytes, sha256 } = await this.uploadOnce(backup, destination, report);
        await this.setCopy(backup.id, destination.id, {
          status: 'verified',
          size_bytes: String(bytes),
          sha256,
          verified_at: this.deps.clock.now(),
          error: null,
        });
        report.log(`Copied to ${destination.name} and verified (${bytes} bytes, sha256 ${sha256}).`);
        return;
      } catch (error) {
        lastError = describe(error);
        const retry = attempt < attempts ? (this.deps.retryDelaysMs[attempt - 1] ?? 0) : null;
        await this.setCopy(backup.id, destination.id, {
          status: retry === null ? 'failed' : 'uploading',
          error: lastError,
        });
        report.log(
          `Copy to ${destination.name}, attempt ${attempt} of ${attempts} failed: ${lastError}${retry === null ? '' : `; retrying in ${Math.round(retry / 1000)} s`}`,
          retry === null ? 'error' : 'warn',
        );
        if (retry === null) break;
        if (report.wait) await report.wait(retry, `retrying the upload to ${destination.name}`);
        else await sleep(retry);
      }
    }
    throw new MarinaError('MARINA_E_COPY_FAILED', `The copy to "${destination.name}" failed: ${lastError}`, {
      destination: destination.id,
    });
  }

  private async uploadOnce(
    backup: Backup,
    destination: Destination,
    report: CopyReport,
  ): Promise<{ bytes: number; sha256: string }> {
    const total = Number(backup.size_bytes) || 1;
    const passphrase = this.deps.destinations.passphraseOf(destination);
    const key = this.remoteKey(backup, passphrase !== null);
    const store = await openStore(this.deps.destinations.targetOf(destination), this.deps.destinations.guard);
    try {
      const sent = new Digest((bytes) => report.progress(Math.min(bytes / total, 1) * 0.5));
      const source = createReadStream(this.deps.storage.pathOf(backup));
      const piping = passphrase ? pipeline(source, encryptStream(passphrase), sent) : pipeline(source, sent);
      try {
        await store.put(key, sent);
      } catch (error) {
        sent.destroy(error as Error);
        await piping.catch(() => undefined);
        throw error;
      }
      await piping;
      const sha256 = sent.hex();
      const stat = await store.stat(key);
      if (!stat || stat.size !== sent.bytes)
        throw new StorageError(
          'integrity',
          `The stored object has ${stat ? stat.size : 'no'} bytes where ${sent.bytes} were sent.`,
        );
      // Read it back whole: a copy nobody read back is a copy nobody knows is good.
      const back = new Digest((bytes) => report.progress(0.5 + (bytes / Math.max(sent.bytes, 1)) * 0.5));
      const readBack = await store.get(key);
      if (passphrase) {
        const plain = new Tap();
        await pipeline(readBack, back, decryptStream(passphrase), plain, new Sink());
        if (plain.hash.digest('hex') !== backup.sha256)
          throw new StorageError('integrity', 'The copy does not decrypt to the backup it was made from.');
      } else {
        await pipeline(readBack, back, new Sink());
      }
      if (back.bytes !== sent.bytes || back.hex() !== sha256)
        throw new StorageError('integrity', 'The copy read back differs from what was sent (sha256 mismatch).');
      return { bytes: sent.bytes, sha256 };
    } catch (error) {
      // A copy that did not verify must not linger as something that looks like one.
      await store.remove(key).catch(() => undefined);
      throw error;
    } finally {
      await store.close().catch(() => undefined);
    }
  }

  /** Removes a copy's object, then marks it deleted. */
  async removeCopy(backup: Backup, destination: Destination): Promise<void> {
    const copy = await this.deps.db
      .selectFrom('backup_copies')
      .selectAll()
      .where('backup_id', '=', backup.id)
      .where('destination_id', '=', destination.id)
      .executeTakeFirst();
    if (!copy || copy.status === 'deleted') return;
    const store = await openStore(this.deps.destinations.targetOf(destination), this.deps.destinations.guard);
    try {
      await store.remove(copy.remote_key);
    } finally {
      await store.close().catch(() => undefined);
    }
    await this.setCopy(backup.id, destination.id, { status: 'deleted' });
  }

  /** Removes every live copy of a backup; failures are logged and reported, not thrown. */
  async removeAll(backup: Backup): Promise<string[]> {
    const problems: string[] = [];
    const copies = await this.deps.db
      .selectFrom('backup_copies')
      .selectAll()
      .where('backup_id', '=', backup.id)
      .where('status', '<>', 'deleted')
      .execute();
    for (const copy of copies) {
      try {
        await this.removeCopy(backup, await this.deps.destinations.row(copy.destination_id));
      } catch (error) {
        problems.push(describe(error));
        this.deps.logger.warn(
          { backup: backup.id, destination: copy.destination_id, err: error },
          'a copy could not be removed',
        );
      }
    }
    return problems;
  }

  /** The plaintext of a backup from its first verified copy, decrypted on the fly. */
  /**
   * A verified copy's bytes as a download serves them: checked against the backup's sha256 as they
   * stream, and cut short on a mismatch. A copy found damaged is marked failed (the next download
   * tries another), logged, and reported to `onMismatch` for the audit trail.
   */
  async openRemoteVerified(
    backup: Backup,
    onMismatch: (destination: Destination, found: Mismatch) => void,
  ): Promise<Readable> {
    const { stream, destination, copy } = await this.openRemote(backup);
    const verified = new VerifiedStream({ sha256: backup.sha256 ?? '', bytes: Number(backup.size_bytes) }, (found) => {
      this.deps.logger.error(
        {
          backup: backup.id,
          destination: destination.id,
          expected: backup.sha256,
          found: found.sha256,
          bytes: found.bytes,
        },
        'an offsite copy does not match its checksum: the download was stopped',
      );
      void this.deps.db
        .updateTable('backup_copies')
        .set({
          status: 'failed',
          error: 'Damaged: its checksum did not match when downloaded.',
          updated_at: this.deps.clock.now(),
        })
        .where('id', '=', copy.id)
        .execute()
        .catch((error) => this.deps.logger.error({ err: error }, 'could not mark the damaged copy failed'));
      onMismatch(destination, found);
    });
    stream.on('error', (error) => verified.destroy(error));
    return stream.pipe(verified);
  }

  async openRemote(backup: Backup): Promise<{ stream: Readable; destination: Destination; copy: BackupCopy }> {
    const copies = await this.deps.db
      .selectFrom('backup_copies')
      .selectAll()
      .where('backup_id', '=', backup.id)
      .where('status', '=', 'verified')
      .orderBy('verified_at')
      .execute();
    let lastError = 'it has no verified offsite copy';
    for (const copy of copies) {
      const destination = await this.deps.destinations.row(copy.destination_id);
      try {
        const store = await openStore(this.deps.destinations.targetOf(destination), this.deps.destinations.guard);
        const raw = await store.get(copy.remote_key);
        raw.once('close', () => void store.close().catch(() => undefined));
        const passphrase = copy.encrypted ? this.deps.destinations.passphraseOf(destination) : null;
        if (copy.encrypted && !passphrase) throw new Error(`the passphrase of "${destination.name}" is missing`);
        if (!passphrase) return { stream: raw, destination, copy };
        const plain = decryptStream(passphrase);
        raw.on('error', (e) => plain.destroy(e));
        return { stream: raw.pipe(plain), destination, copy };
      } catch (error) {
        lastError = `${destination.name}: ${describe(error)}`;
      }
    }
    throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', `The backup's local file is gone and ${lastError}.`);
  }

  /** Brings a backup whose local file is gone back from a verified copy; its checksum must match. */
  async fetchToLocal(backup: Backup, onProgress?: (fraction: number) => void): Promise<void> {
    if (!backup.sha256) throw new MarinaError('MARINA_E_BACKUP_UNAVAILABLE', 'The backup has no checksum.');
    const { stream, destination } = await this.openRemote(backup);
    const total = Number(backup.size_bytes) || 1;
    const writer = await BackupFileWriter.create(this.deps.storage.pathOf(backup), (bytes) =>
      onProgress?.(bytes / total),
    );
    try {
      await pipeline(stream, writer.input);
      await writer.commit(backup.sha256);
    } catch (error) {
      await writer.abort();
      throw new MarinaError(
        'MARINA_E_BACKUP_UNAVAILABLE',
        `The copy at "${destination.name}" could not be brought back: ${describe(error)}`,
      );
    }
    await this.deps.writer.markLocal(backup.id, 'present');
  }

  /** Copies an interrupted job left pending or uploading are failed: nothing claims to be underway. */
  async failUnfinished(backupId: string, reason: string): Promise<void> {
    await this.deps.db
      .updateTable('backup_copies')
      .set({ status: 'failed', error: reason, updated_at: this.deps.clock.now() })
      .where('backup_id', '=', backupId)
      .where('status', 'in', ['pending', 'uploading'])
      .execute();
  }
}
