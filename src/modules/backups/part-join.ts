/**
 * Joining the parts of a native archive made beside the data: the head (the manifest and the dump
 * part) and the filestore part, written at the same time into two files.
 *
 * Copying the filestore part after the head (the way any file system can) writes its bytes a second
 * time, after the job has all but ended, and then they must reach the disk before the backup is
 * named. Where the file system can open room at a file's start without moving a byte
 * (`fallocate --insert-range`: ext4, XFS), the head goes in front of the filestore part instead:
 * only the head is written again, and the filestore part, flushed while it was being written,
 * stays on the disk as it is. The room is whole blocks; what the head leaves of it is a skippable
 * zstd frame, which every decoder passes over. The archive is the same bytes either way: the head,
 * that frame, the filestore part.
 */
import { spawn } from 'node:child_process';
import { type FileHandle, open, rm, stat, writeFile } from 'node:fs/promises';
import { SKIPPABLE_HEADER_BYTES, skippableFrame } from '../../adapters/archive/zstd-frames.js';

/** The file system's block: the unit `fallocate --insert-range` works in. */
export async function blockOf(path: string): Promise<number> {
  const { blksize } = await stat(path);
  return blksize > 0 ? blksize : 4096;
}

/**
 * What goes between a head of `headBytes` and the filestore part: a skippable frame up to the next
 * whole block (none when the head ends on one; a block more when the rest is too short for a frame).
 */
export function padAfter(headBytes: number, block: number): Buffer {
  let pad = (block - (headBytes % block)) % block;
  if (pad > 0 && pad < SKIPPABLE_HEADER_BYTES) pad += block;
  return pad === 0 ? Buffer.alloc(0) : skippableFrame(pad);
}

/** Runs a command (argument array) and says whether it exited 0. */
function succeeds(command: string, args: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

const insertRoom = (path: string, bytes: number) =>
  succeeds('fallocate', ['--insert-range', '--offset', '0', '--length', String(bytes), '--', path]);

/** Whether room can be opened at the start of a file on `probe`'s file system (tried on `probe`, then removed). */
export async function canInsertInFront(probe: string): Promise<boolean> {
  try {
    await writeFile(probe, 'x', { mode: 0o600 });
    return await insertRoom(probe, await blockOf(probe));
  } catch {
    return false;
  } finally {
    await rm(probe, { force: true });
  }
}

/**
 * Puts `head` and `pad` in front of `part`'s bytes, in `part` itself. False, having changed
 * nothing, when the file system cannot.
 */
export async function putInFront(head: string, pad: Buffer, part: string): Promise<boolean> {
  const headBytes = (await stat(head)).size;
  const room = headBytes + pad.length;
  if (room % (await blockOf(part)) !== 0 || !(await insertRoom(part, room))) return false;
  // dd writes the head into the room and leaves what follows; none of it passes through Marina.
  const copied = await succeeds('dd', [`if=${head}`, `of=${part}`, 'bs=1M', 'conv=notrunc', 'status=none']);
  if (!copied) throw new Error("the archive's head could not be written in front of the filestore's part");
  const target = await open(part, 'r+');
  try {
    if (pad.length > 0) await target.write(pad, 0, pad.length, headBytes);
  } finally {
    await target.close();
  }
  return true;
}

/** `head`, `pad`, then `cat part >> head`: the kernel copies the part (copy_file_range), none of it passes through Marina. */
export async function appendAfter(head: string, pad: Buffer, part: string): Promise<void> {
  const target = await open(head, 'a');
  try {
    if (pad.length > 0) await target.write(pad);
    const cat = spawn('cat', ['--', part], { stdio: ['ignore', target.fd, 'pipe'] });
    let errors = '';
    cat.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      cat.on('error', reject);
      cat.on('close', resolve);
    });
    if (code !== 0) throw new Error(`appending the filestore's part failed: ${errors.trim()}`);
  } finally {
    await target.close();
  }
}

/**
 * Flushes a file another process is writing to the disk now and then (one flush at a time), so
 * that little of it is left to flush when the backup is named.
 */
export class FlushBehind {
  private handle: Promise<FileHandle> | undefined;
  private flushing: Promise<void> | undefined;

  constructor(private readonly path: string) {}

  tick(): void {
    if (this.flushing) return;
    this.handle ??= open(this.path, 'r');
    this.flushing = this.handle
      .then((file) => file.datasync())
      .catch(() => undefined)
      .finally(() => {
        this.flushing = undefined;
      });
  }

  /** Waits for the flush in flight; a second close does nothing. */
  async close(): Promise<void> {
    await this.flushing;
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }
}
