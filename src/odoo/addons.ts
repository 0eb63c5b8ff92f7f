import { lstat, readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { MAX_MANIFEST_BYTES, readManifest } from './manifest-parser.js';

/** Addon discovery and change detection on a checkout folder. Reads files only; never runs Python. */
export interface AddonInfo {
  name: string;
  /** Relative to the scanned root, posix ('.' when the root itself is the addon). */
  path: string;
  version: string | null;
  /** The manifest's "name": the human title. */
  title: string | null;
  summary: string | null;
  author: string | null;
  application: boolean;
  installable: boolean;
}

export interface AddonScan {
  addons: AddonInfo[];
  /** addons_path entries relative to the root ('.' is the root); empty when the root itself is an addon. */
  paths: string[];
  /** The root holds __manifest__.py: its parent folder is the addons_path entry. */
  rootIsAddon: boolean;
  /** Folders with a manifest that are not addons Odoo can load, with why. */
  skipped: {
    path: string;
    reason: string;
    /** The manifest itself cannot be read (rather than a folder name Odoo ignores): Odoo would fail on it. */
    unreadable: boolean;
  }[];
}

/** Odoo's own rule for module technical names. */
export const MODULE_NAME = /^[a-z0-9_]+$/;
const MANIFEST = '__manifest__.py';

export async function scanAddons(root: string): Promise<AddonScan> {
  const addons: AddonInfo[] = [];
  const skipped: AddonScan['skipped'] = [];
  const paths = new Set<string>();

  const take = async (dir: string, rel: string, name: string): Promise<void> => {
    if (!MODULE_NAME.test(name)) {
      skipped.push({
        path: rel,
        reason: `"${name}" is not a valid Odoo module name (lowercase letters, digits and "_" only).`,
        unreadable: false,
      });
      return;
    }
    let text: string;
    try {
      text = await readFile(join(dir, MANIFEST), 'utf8');
    } catch (error) {
      skipped.push({
        path: rel,
        reason: `${MANIFEST} cannot be read (${(error as Error).message}).`,
        unreadable: true,
      });
      return;
    }
    const manifest = readManifest(text);
    if (!manifest) {
      skipped.push({ path: rel, reason: `${MANIFEST} does not hold a Python dict literal.`, unreadable: true });
      return;
    }
    addons.push(addonInfo(name, rel, manifest));
  };

  if (await hasManifest(root)) {
    const name = posix.basename(root.replace(/\\/g, '/').replace(/\/+$/, ''));
    await take(root, '.', name);
    return { addons, paths: [], rootIsAddon: true, skipped };
  }
  for (const first of await subfolders(root)) {
    const firstDir = join(root, first);
    if (await hasManifest(firstDir)) {
      paths.add('.');
      await take(firstDir, first, first);
      continue;
    }
    for (const second of await subfolders(firstDir)) {
      const secondDir = join(firstDir, second);
      if (await hasManifest(secondDir)) {
        paths.add(first);
        await take(secondDir, `${first}/${second}`, second);
      }
    }
  }
  addons.sort((a, b) => compare(a.name, b.name) || compare(a.path, b.path));
  skipped.sort((a, b) => compare(a.path, b.path));
  return { addons, paths: [...paths].sort(compare), rootIsAddon: false, skipped };
}

function addonInfo(name: string, path: string, manifest: Record<string, unknown>): AddonInfo {
  const text = (key: string) => {
    const value = manifest[key];
    return typeof value === 'string' ? value : null;
  };
  const author = manifest.author;
  return {
    name,
    path,
    version: text('version'),
    title: text('name'),
    summary: text('summary'),
    author: typeof author === 'string' ? author : Array.isArray(author) ? author.map(String).join(', ') : null,
    application: manifest.application === true,
    installable: manifest.installable !== false,
  };
}

/** Plain code-unit order, the same on every machine and locale. */
export const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function hasManifest(dir: string): Promise<boolean> {
  try {
    const stat = await lstat(join(dir, MANIFEST));
    return stat.isFile() && stat.size <= MAX_MANIFEST_BYTES;
  } catch {
    return false;
  }
}

/** Real (not symlinked), not hidden subfolders, sorted. */
async function subfolders(dir: string): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && e.name !== '__pycache__')
    .map((e) => e.name)
    .sort(compare);
}

/** Odoo's adapt_version: '1.0' on 17.0 → '17.0.1.0'; a version already starting with the series is kept. */
export function adaptVersion(series: string, version: string): string {
  if (version === series || !version.startsWith(`${series}.`)) return `${series}.${version}`;
  return version;
}
