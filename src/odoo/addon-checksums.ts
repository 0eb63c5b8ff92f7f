import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type AddonInfo, compare } from './addons.js';

/** Addon checksums and change detection over a checkout: which addons need an update. */
const SKIPPED_FILE = /\.(?:pyc|pyo|pot)$/;

/**
 * A sha256 per addon over its files, like click-odoo-update's addon hash: sorted relative paths and
 * contents; .git, __pycache__, *.pyc, *.pyo, *.pot and dot-files skipped; a symlink counts as its
 * target text, never followed.
 */
export async function addonChecksums(root: string, addons: AddonInfo[]): Promise<Record<string, string>> {
  const sums: Record<string, string> = {};
  // Addons are hashed a few at a time: most files are small, and the time goes in opening them.
  const digests = await mapLimited(addons, 8, (addon) =>
    addonChecksum(addon.path === '.' ? root : join(root, ...addon.path.split('/'))),
  );
  for (const [index, addon] of addons.entries()) {
    Object.defineProperty(sums, addon.name, {
      value: digests[index],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return sums;
}

/** Files up to this size are read at once; bigger ones stream, so memory stays bounded. */
const READ_WHOLE_BYTES = 4 * 1024 * 1024;

export async function addonChecksum(dir: string): Promise<string> {
  const files = await listFiles(dir, '');
  files.sort((a, b) => compare(a.rel, b.rel));
  const hash = createHash('sha256');
  for (const file of files) {
    // Separators keep "a" + "bc" apart from "ab" + "c".
    hash.update(`${file.rel}\0${file.link ? 'link' : 'file'}\0`);
    const path = join(dir, file.rel);
    if (file.link) hash.update(await readlink(path));
    else if ((await lstat(path)).size <= READ_WHOLE_BYTES) hash.update(await readFile(path));
    else await streamInto(hash, path);
    hash.update('\0');
  }
  return hash.digest('hex');
}

async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

async function listFiles(dir: string, rel: string): Promise<{ rel: string; link: boolean }[]> {
  const found: { rel: string; link: boolean }[] = [];
  const entries = await readdir(rel ? join(dir, rel) : dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === '__pycache__') continue;
    const path = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isSymbolicLink()) found.push({ rel: path, link: true });
    else if (entry.isDirectory()) found.push(...(await listFiles(dir, path)));
    else if (entry.isFile() && !SKIPPED_FILE.test(entry.name)) found.push({ rel: path, link: false });
  }
  return found;
}

function streamInto(hash: Hash, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(file);
    stream.on('data', (chunk) => hash.update(chunk));
    stream.once('error', reject);
    stream.once('end', () => resolve());
  });
}

export function changedAddons(
  before: Record<string, string>,
  after: Record<string, string>,
): { changed: string[]; added: string[]; removed: string[] } {
  const has = (record: Record<string, string>, key: string) => Object.hasOwn(record, key);
  const changed: string[] = [];
  const added: string[] = [];
  const removed: string[] = [];
  for (const name of Object.keys(after)) {
    if (!has(before, name)) added.push(name);
    else if (before[name] !== after[name]) changed.push(name);
  }
  for (const name of Object.keys(before)) if (!has(after, name)) removed.push(name);
  return { changed: changed.sort(compare), added: added.sort(compare), removed: removed.sort(compare) };
}
