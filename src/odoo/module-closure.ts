import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { addonChecksum } from './addon-checksums.js';
import { MODULE_NAME } from './addons.js';
import { MAX_MANIFEST_BYTES, readManifest } from './manifest-parser.js';

/**
 * What `odoo -i <modules>` would install from a source tree, read from the manifests without
 * running Python: the modules asked for, their dependencies, and the auto-installed modules whose
 * triggers are all in (Odoo's `auto_install: True` waits for every dependency, a list for those
 * listed). Database templates are keyed by it, as click-odoo-initdb keys its cache.
 */
interface ModuleFacts {
  dir: string;
  depends: string[];
  autoInstall: string[] | null;
}

async function readModules(addonsDirs: readonly string[]): Promise<Map<string, ModuleFacts>> {
  const modules = new Map<string, ModuleFacts>();
  for (const root of addonsDirs) {
    const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      // The first addons_path entry that has a module wins, as in Odoo.
      if (!entry.isDirectory() || !MODULE_NAME.test(entry.name) || modules.has(entry.name)) continue;
      const dir = join(root, entry.name);
      const text = await readFile(join(dir, '__manifest__.py'), 'utf8').catch(() => null);
      if (text === null || text.length > MAX_MANIFEST_BYTES) continue;
      const manifest = readManifest(text);
      if (!manifest || manifest.installable === false) continue;
      const depends = Array.isArray(manifest.depends) ? manifest.depends.filter((d) => typeof d === 'string') : [];
      const auto = manifest.auto_install;
      const autoInstall =
        auto === true ? depends : Array.isArray(auto) ? auto.filter((d) => typeof d === 'string') : null;
      modules.set(entry.name, { dir, depends, autoInstall });
    }
  }
  return modules;
}

export interface ModuleClosure {
  /** Every module the run installs, sorted. */
  modules: string[];
  /** Modules asked for (or needed) that no addons folder has: Odoo would fail on them. */
  missing: string[];
  /** One sha256 over each installed module's name and content checksum. */
  checksum: string;
}

export async function moduleClosure(addonsDirs: readonly string[], wanted: readonly string[]): Promise<ModuleClosure> {
  const known = await readModules(addonsDirs);
  const installed = new Set<string>();
  const missing = new Set<string>();
  const add = (name: string): void => {
    if (installed.has(name) || missing.has(name)) return;
    const facts = known.get(name);
    if (!facts) {
      missing.add(name);
      return;
    }
    installed.add(name);
    for (const dependency of facts.depends) add(dependency);
  };
  for (const name of ['base', ...wanted]) add(name);
  // Auto-installed modules can trigger others: repeat until nothing more comes in.
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, facts] of known) {
      if (installed.has(name) || facts.autoInstall === null) continue;
      if (!facts.autoInstall.every((d) => installed.has(d))) continue;
      if (!facts.depends.every((d) => known.has(d))) continue;
      add(name);
      changed = true;
    }
  }
  const modules = [...installed].sort();
  const hash = createHash('sha256');
  for (const name of modules) {
    const facts = known.get(name) as ModuleFacts;
    hash.update(`${name}\0${await cachedChecksum(facts.dir)}\n`);
  }
  return { modules, missing: [...missing].sort(), checksum: hash.digest('hex') };
}

/** Each module folder's checksum, kept while no file in it changes size or time. */
const checksums = new Map<string, { fingerprint: string; checksum: string }>();

async function cachedChecksum(dir: string): Promise<string> {
  const fingerprint = await statFingerprint(dir);
  const cached = checksums.get(dir);
  if (cached?.fingerprint === fingerprint) return cached.checksum;
  const checksum = await addonChecksum(dir);
  checksums.set(dir, { fingerprint, checksum });
  return checksum;
}

/** Paths, sizes and modification times of a folder's files: ~10× cheaper than reading them. */
async function statFingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (path: string): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    const stats = await Promise.all(
      entries.map((e) => (e.isDirectory() ? null : stat(join(path, e.name)).catch(() => null))),
    );
    for (const [i, entry] of entries.entries()) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) await walk(full);
      else hash.update(`${full}\0${stats[i]?.size}\0${stats[i]?.mtimeMs}\n`);
    }
  };
  await walk(dir);
  return hash.digest('hex');
}
