import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { CatalogEntry } from '../../odoo/versions.js';
import type { Clock } from '../../platform/clock.js';
import type { OneOffSpec, Runtime } from '../../runtime/port.js';
import { namespaceLabels } from '../hosts/database-servers.js';
import type { HostService } from '../hosts/hosts.js';
import { ODOO_DATA_DIR, ODOO_SOURCE_MOUNT } from './odoo-container.js';

export const BYTECODE_KIND = 'bytecode';

/**
 * Compiles what the image's Python may import (its sys.path) and the mounted source's `odoo` and
 * `addons` into PYTHONPYCACHEPREFIX. Files compiled from the same source (mtime and size) are
 * skipped, so a build over an existing cache only brings it up to date. A file Python cannot
 * compile is left out (it cannot be imported either); a cache without Odoo's own package is a
 * failure (the folder was not writable).
 */
const COMPILE = `
import compileall, importlib.util, os, sys
source = sys.argv[1]
roots = [p for p in sys.path if p and os.path.isdir(p)] + [os.path.join(source, 'odoo'), os.path.join(source, 'addons')]
for root in dict.fromkeys(roots):
    if os.path.isdir(root):
        compileall.compile_dir(root, quiet=2, workers=1)
probe = importlib.util.cache_from_source(os.path.join(source, 'odoo', '__init__.py'))
if not os.path.isfile(probe):
    sys.exit('nothing was written to ' + sys.pycache_prefix)
`;

export interface BytecodeCachesDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  hosts: Pick<HostService, 'reachableRuntime'>;
  namespace: string;
}

/**
 * Python compiles every module it imports from a read-only source tree again at each start: about
 * 0.4 s of each Odoo start (and of each one-off Odoo run) on the test machine. Marina keeps the
 * compiled files once per host, image and source folder in a volume that the instance's containers
 * mount read-only, and points Python at it. Python checks each compiled file against its source,
 * so a stale one is never used, only compiled again in memory.
 *
 * A cache is built in the background on its first need (that need goes without it) and brought up
 * to date once per Marina process; a failed build is logged and tried again on a later need.
 */
export class BytecodeCaches {
  private readonly builds = new Map<string, Promise<void>>();
  private readonly current = new Set<string>();

  constructor(private readonly deps: BytecodeCachesDeps) {}

  /** The cache volume to mount for an Odoo of this catalog entry on this host, when it is ready. */
  async volumeFor(hostId: string, catalog: CatalogEntry): Promise<string | undefined> {
    try {
      return await this.find(hostId, catalog);
    } catch (error) {
      // Only a faster start is lost: the container goes without it.
      this.deps.logger.warn({ err: error, hostId }, 'looking up the bytecode cache failed');
      return undefined;
    }
  }

  private async find(hostId: string, catalog: CatalogEntry): Promise<string | undefined> {
    const source = catalog.sourceMount;
    if (!source) return undefined;
    const engine = await this.deps.hosts.reachableRuntime(hostId);
    const imageId = await engine.imageId(catalog.image);
    if (!imageId) return undefined;
    const volume = this.volumeName(imageId, source);
    const row = await this.deps.db
      .selectFrom('bytecode_caches')
      .select('built_at')
      .where('host_id', '=', hostId)
      .where('volume_name', '=', volume)
      .executeTakeFirst();
    const key = `${hostId}\n${volume}`;
    if (!this.current.has(key) && !this.builds.has(key)) {
      const build = this.build(engine, hostId, volume, { image: catalog.image, imageId, source })
        .then(() => {
          this.current.add(key);
        })
        .catch((error) => this.deps.logger.warn({ err: error, hostId, volume }, 'building the bytecode cache failed'))
        .finally(() => this.builds.delete(key));
      this.builds.set(key, build);
    }
    return row?.built_at ? volume : undefined;
  }

  /** Resolves when every build started so far has ended (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.builds.size > 0) await Promise.all(this.builds.values());
  }

  private volumeName(imageId: string, source: string): string {
    const key = createHash('sha256').update(`${imageId}\n${source}`).digest('hex').slice(0, 16);
    return `${this.deps.namespace}-${BYTECODE_KIND}-${key}`;
  }

  private async build(
    engine: Runtime,
    hostId: string,
    volume: string,
    from: { image: string; imageId: string; source: string },
  ): Promise<void> {
    const { db, clock, namespace } = this.deps;
    // Recorded before the volume exists, so that no volume of Marina's is ever unknown to it.
    await db
      .insertInto('bytecode_caches')
      .values({ host_id: hostId, volume_name: volume, image_id: from.imageId, source: from.source })
      .onConflict((oc) => oc.columns(['host_id', 'volume_name']).doNothing())
      .execute();
    await engine.ensureVolume(volume, namespaceLabels(namespace, BYTECODE_KIND, volume));
    const started = performance.now();
    const result = await engine.run(buildSpec(namespace, volume, from));
    if (result.exitCode !== 0) throw new Error(`exit code ${result.exitCode}: ${result.output.slice(-500)}`);
    await db
      .updateTable('bytecode_caches')
      .set({ built_at: clock.now(), build_ms: Math.round(performance.now() - started) })
      .where('host_id', '=', hostId)
      .where('volume_name', '=', volume)
      .execute();
    await this.prune(engine, hostId, volume, from.source);
  }

  /** Caches of older images of the same source go once no container refers to them (the engine refuses before). */
  private async prune(engine: Runtime, hostId: string, kept: string, source: string): Promise<void> {
    const older = await this.deps.db
      .selectFrom('bytecode_caches')
      .select('volume_name')
      .where('host_id', '=', hostId)
      .where('source', '=', source)
      .where('volume_name', '!=', kept)
      .execute();
    for (const { volume_name } of older) {
      try {
        await engine.removeVolume(volume_name);
      } catch {
        continue;
      }
      await this.deps.db
        .deleteFrom('bytecode_caches')
        .where('host_id', '=', hostId)
        .where('volume_name', '=', volume_name)
        .execute();
    }
  }
}

function buildSpec(namespace: string, volume: string, from: { image: string; source: string }): OneOffSpec {
  return {
    name: `${volume}-build`,
    image: from.image,
    entrypoint: ['python3'],
    command: ['-c', COMPILE, ODOO_SOURCE_MOUNT],
    // The image's /var/lib/odoo belongs to Odoo's user: a new volume mounted there starts so too.
    env: { PYTHONPYCACHEPREFIX: ODOO_DATA_DIR },
    labels: namespaceLabels(namespace, BYTECODE_KIND, volume),
    network: 'none',
    mounts: [
      { type: 'bind', source: from.source, target: ODOO_SOURCE_MOUNT, readOnly: true },
      { type: 'volume', source: volume, target: ODOO_DATA_DIR },
    ],
    // One core: it runs beside provisioning and Odoo's own starts.
    limits: { memoryBytes: 512 * 1024 * 1024, nanoCpus: 1e9, pids: 64 },
    privileges: 'none',
  };
}
