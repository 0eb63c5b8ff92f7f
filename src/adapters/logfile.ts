import { createReadStream } from 'node:fs';
import { open, rename, stat } from 'node:fs/promises';

export interface FileLine {
  /** Byte offset of the line in the file: ordered, and where a reader resumes. */
  offset: number;
  text: string;
}

/** Reads whole lines between two offsets, streaming. */
export async function* readLines(file: string, from = 0, until = Number.POSITIVE_INFINITY): AsyncGenerator<FileLine> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return;
  }
  const end = Math.min(size, until);
  if (from >= end) return;
  let offset = from;
  let pending = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { start: from, end: end - 1 })) {
    pending = Buffer.concat([pending, chunk as Buffer]);
    let newline = pending.indexOf(10);
    while (newline >= 0) {
      yield { offset, text: pending.subarray(0, newline).toString('utf8') };
      offset += newline + 1;
      pending = pending.subarray(newline + 1);
      newline = pending.indexOf(10);
    }
  }
}

/** The offset where the last `lines` lines begin, reading backwards in blocks. */
export async function tailOffset(file: string, lines: number): Promise<number> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch {
    return 0;
  }
  try {
    const { size } = await handle.stat();
    let position = size;
    let seen = 0;
    const block = Buffer.alloc(64 * 1024);
    // The file ends with a newline: the first one found from the end closes the last line.
    let skipFirst = true;
    while (position > 0) {
      const length = Math.min(block.length, position);
      position -= length;
      await handle.read(block, 0, length, position);
      for (let i = length - 1; i >= 0; i--) {
        if (block[i] !== 10) continue;
        if (skipFirst) {
          skipFirst = false;
          continue;
        }
        seen++;
        if (seen === lines) return position + i + 1;
      }
    }
    return 0;
  } finally {
    await handle.close();
  }
}

/** Follows a file that grows (like `tail -f`), from an offset, until `signal` aborts. */
export async function* followLines(
  file: string,
  from: number,
  signal: AbortSignal,
  pollMs = 150,
): AsyncGenerator<FileLine> {
  let offset = from;
  while (!signal.aborted) {
    let size = 0;
    try {
      size = (await stat(file)).size;
    } catch {
      size = 0;
    }
    // Rotated or truncated under us: start again at its beginning.
    if (size < offset) offset = 0;
    if (size > offset) {
      for await (const line of readLines(file, offset, size)) {
        yield line;
        offset = line.offset + Buffer.byteLength(line.text) + 1;
      }
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, pollMs);
      signal.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
  }
}

/** Keeps one previous generation: marina.log → marina.log.1 when it grew past `maxBytes`. */
export async function rotateIfLarge(file: string, maxBytes: number): Promise<void> {
  try {
    if ((await stat(file)).size > maxBytes) await rename(file, `${file}.1`);
  } catch {
    // No file yet.
  }
}
