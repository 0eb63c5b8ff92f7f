import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tarStream from 'tar-stream';
import { streamedBytesCounter } from '../stream-garbage.js';

export interface SinkEntry {
  name: string;
  size: number;
  mode?: number;
  type?: 'file' | 'directory' | 'link';
  /** A hard link's target, relative to where the tar is extracted. */
  linkname?: string;
  mtime?: Date;
}

/**
 * A tar stream built entry by entry and handed to a consumer as it is made (Docker's putArchive):
 * one entry at a time, each read from its own stream, so nothing is held in memory.
 */
export class TarSink {
  private readonly pack = tarStream.pack();
  private readonly consuming: Promise<void>;

  constructor(
    consume: (tar: Readable) => Promise<void>,
    private readonly owner: { uid: number; gid: number } = { uid: 0, gid: 0 },
  ) {
    const out = new PassThrough();
    this.consuming = Promise.all([pipeline(this.pack, out), consume(out)]).then(() => undefined);
    this.consuming.catch(() => undefined);
  }

  private readonly folders = new Set<string>();

  async add(entry: SinkEntry, content?: Readable | Buffer): Promise<void> {
    // Folders first, with the sink's owner: Docker would make missing ones owned by root, and Odoo
    // (uid 101) could then not add files beside the restored ones.
    const parts = entry.name.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const folder = `${parts.slice(0, i).join('/')}/`;
      if (this.folders.has(folder)) continue;
      this.folders.add(folder);
      await this.add({ name: folder, size: 0, type: 'directory', mode: 0o755 });
    }
    const header = {
      name: entry.name,
      size: entry.type === 'directory' || entry.type === 'link' ? 0 : entry.size,
      ...(entry.linkname === undefined ? {} : { linkname: entry.linkname }),
      mode: entry.mode ?? (entry.type === 'directory' ? 0o700 : 0o600),
      type: entry.type ?? 'file',
      mtime: entry.mtime ?? new Date(),
      uid: this.owner.uid,
      gid: this.owner.gid,
    };
    if (entry.type === 'directory' || entry.type === 'link' || content === undefined) {
      await new Promise<void>((resolve, reject) =>
        this.pack.entry(header, (error) => (error ? reject(error) : resolve())),
      );
      return;
    }
    if (Buffer.isBuffer(content)) {
      await new Promise<void>((resolve, reject) =>
        this.pack.entry(header, content, (error) => (error ? reject(error) : resolve())),
      );
      return;
    }
    const sink = this.pack.entry(header);
    // A mismatch between the announced size and the data fails here, not silently later.
    await pipeline(content, sink);
  }

  async close(): Promise<void> {
    this.pack.finalize();
    await this.consuming;
  }

  destroy(error?: Error): void {
    this.pack.destroy(error);
  }
}

/** Walks a tar stream entry by entry; the handler must consume (or skip) each entry's stream. */
export async function eachTarEntry(
  tar: Readable,
  handle: (header: tarStream.Header, stream: Readable) => Promise<void>,
): Promise<void> {
  const extract = tarStream.extract();
  const walking = pipeline(tar, streamedBytesCounter(), extract);
  try {
    for await (const entry of extract) {
      await handle(entry.header, entry as unknown as Readable);
      // An entry the handler did not read is skipped, or the extractor would stall.
      (entry as unknown as Readable).resume();
    }
  } catch (error) {
    tar.destroy(error as Error);
    walking.catch(() => undefined);
    throw error;
  }
  await walking;
}
