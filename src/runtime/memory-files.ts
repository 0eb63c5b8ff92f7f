/** The files of one volume of the in-memory stand-in runtime (memory.ts), read and written as tar. */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import type { Mount } from './port.js';

interface StoredFile {
  content: Buffer;
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** What a program of the stand-in sees of the files of its workload. */
export interface ProgramFiles {
  read(path: string): string | undefined;
  mountOf(path: string): { mount: Mount; files: MemoryFiles; relative: string } | undefined;
}

const clean = (path: string): string => {
  const normalized = posix.normalize(path).replace(/^\/+|\/+$/g, '');
  return normalized === '.' ? '' : normalized;
};

export class MemoryFiles {
  private readonly files = new Map<string, StoredFile>();
  private readonly dirs = new Set<string>(['']);

  read(path: string): string | undefined {
    return this.files.get(clean(path))?.content.toString('utf8');
  }

  isDirectory(path: string): boolean {
    const at = clean(path);
    return this.dirs.has(at) || [...this.files.keys()].some((name) => name.startsWith(`${at}/`));
  }

  private addDir(path: string): void {
    for (let at = clean(path); at !== '' && at !== '.'; at = posix.dirname(at)) this.dirs.add(at);
  }

  /** A file or folder as a tar stream whose entries are named after its last part, or undefined. */
  tar(path: string): Readable | undefined {
    const at = clean(path);
    const base = at === '' ? '.' : posix.basename(at);
    const file = this.files.get(at);
    if (!file && !this.isDirectory(at)) return undefined;
    const pack = tarStream.pack();
    const header = (f: StoredFile, name: string) => ({
      name,
      size: f.content.length,
      mode: f.mode,
      uid: f.uid,
      gid: f.gid,
      mtime: f.mtime,
    });
    if (file) {
      pack.entry(header(file, base), file.content);
    } else {
      const prefix = at === '' ? '' : `${at}/`;
      const dirs = [...this.dirs].filter((d) => d === at || d.startsWith(prefix)).sort();
      for (const dir of dirs)
        pack.entry({ name: `${posix.join(base, dir.slice(prefix.length))}/`, type: 'directory', mode: 0o755 });
      // A name that shares its content with one already sent is a hard link, as tar keeps them.
      const sent = new Map<StoredFile, string>();
      for (const [name, f] of [...this.files.entries()].filter(([n]) => n.startsWith(prefix)).sort()) {
        const entryName = posix.join(base, name.slice(prefix.length));
        const first = sent.get(f);
        if (first) pack.entry({ ...header(f, entryName), size: 0, type: 'link', linkname: first });
        else pack.entry(header(f, entryName), f.content);
        sent.set(f, first ?? entryName);
      }
    }
    pack.finalize();
    return pack as unknown as Readable;
  }

  /** Extracts a tar stream into a folder: files, folders and hard links (named relative to the folder). */
  async extract(path: string, tar: Readable): Promise<void> {
    const root = clean(path);
    const extract = tarStream.extract();
    await new Promise<void>((resolve, reject) => {
      extract.on('entry', (header, stream, next) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
        stream.on('error', reject);
        stream.on('end', () => {
          const name = clean(posix.join(root, header.name));
          if (header.type === 'directory') this.addDir(name);
          else if (header.type === 'link') {
            const source = this.files.get(clean(posix.join(root, header.linkname ?? '')));
            if (!source) return reject(new Error(`hard link to a missing file: ${header.linkname}`));
            this.addDir(posix.dirname(name));
            this.files.set(name, source);
          } else if (header.type === 'file' || header.type === undefined) {
            this.addDir(posix.dirname(name));
            this.files.set(name, {
              content: Buffer.concat(chunks),
              mode: header.mode ?? 0o644,
              uid: header.uid ?? 0,
              gid: header.gid ?? 0,
              mtime: header.mtime ?? new Date(),
            });
          }
          next();
        });
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
      tar.on('error', reject);
      tar.pipe(extract);
    });
  }

  /** Owner and mode of a file (for tests). */
  owner(path: string): { uid: number; gid: number; mode: number } | undefined {
    const file = this.files.get(clean(path));
    return file && { uid: file.uid, gid: file.gid, mode: file.mode };
  }
}

/** The files a workload sees: its config files and its mounted volumes (binds are empty here). */
export function workloadFiles(
  workload: { files: Map<string, string>; mounts: Mount[] },
  volume: (name: string) => MemoryFiles,
): ProgramFiles {
  const mountOf = (path: string) => {
    const mount = workload.mounts
      .filter((m) => m.type === 'volume' && (path === m.target || path.startsWith(`${m.target}/`)))
      .sort((a, b) => b.target.length - a.target.length)[0];
    if (!mount) return undefined;
    return { mount, files: volume(mount.source), relative: posix.relative(mount.target, path) };
  };
  return {
    read: (path) => workload.files.get(path) ?? mountOf(path)?.files.read(mountOf(path)?.relative ?? ''),
    mountOf,
  };
}
