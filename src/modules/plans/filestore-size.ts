import type { Instance } from '../../db/schema.js';
import type { OneOffSpec, Runtime } from '../../runtime/port.js';
import { namespaceLabels } from '../hosts/database-servers.js';
import { ODOO_DATA_DIR } from '../instances/odoo-container.js';

/** How long one measurement may take before it is abandoned (the last figure stays). */
export const PROBE_SECONDS = 300;

/** What measuring a filestore needs of an instance. */
export type MeasuredInstance = Pick<Instance, 'id' | 'container_name' | 'volume_name' | 'db_name'>;

/** The one-offs' container names: known, so that what a crash left of them can be removed. */
export const usageProbeNames = (containerName: string) => ({
  du: `${containerName}-du`,
  sessions: `${containerName}-sessions`,
});

/**
 * The one-off that measures an instance's filestore without the tenant's say: the instance's data
 * volume mounted read-only, at the path Odoo sees (a symlink the tenant made resolves as it does
 * for Odoo), no network, root with every capability dropped but DAC_READ_SEARCH (it reads folders
 * the tenant made unreadable, and can change nothing). `du -sbx` of the whole volume: apparent
 * bytes of everything the instance keeps there (filestore, sessions), links counted, never followed.
 */
export function filestoreProbeSpec(instance: MeasuredInstance, image: string, namespace: string): OneOffSpec {
  return {
    name: usageProbeNames(instance.container_name).du,
    image,
    // Bounded: a tenant's tree of millions of files must not hold up every other measurement.
    entrypoint: ['timeout', '-s', 'KILL', String(PROBE_SECONDS), 'du'],
    // The whole volume, links not followed: whatever the tenant moves or links inside it still
    // counts, and a link pointing out of it cannot lower the figure.
    command: ['-sbx', ODOO_DATA_DIR],
    labels: namespaceLabels(namespace, 'usage-probe', instance.id),
    network: 'none',
    mounts: [{ type: 'volume', source: instance.volume_name, target: ODOO_DATA_DIR, readOnly: true }],
    limits: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 0.5e9, pids: 16 },
    privileges: 'read',
  };
}

/**
 * The figure `du` printed: its total line ("<bytes>\t<path>"), even when it also complained (a
 * partial total beats none); undefined when it said nothing usable — a missing folder included, as
 * a tenant can swap it for a link to nowhere — so the last figure stays (a new instance's is 0).
 */
export function filestoreBytesOf(output: string | undefined): number | undefined {
  if (output === undefined) return undefined;
  const total = output.match(/^(\d+)\s/m)?.[1];
  return total === undefined ? undefined : Number(total);
}

/**
 * Measures the filestore from a one-off (see filestoreProbeSpec), whether or not the instance runs.
 * When the one-off cannot run (its image is missing on the host), `du` inside the running
 * container, as odoo, is the fallback: it misses folders the tenant made unreadable.
 */
export async function measureFilestore(
  runtime: Pick<Runtime, 'run' | 'exec' | 'state' | 'volumeExists'>,
  instance: MeasuredInstance,
  probe: { image: string; namespace: string },
): Promise<number | undefined> {
  // Mounting a volume that is not there would make an empty one.
  if (!(await runtime.volumeExists(instance.volume_name).catch(() => false))) return undefined;
  const measured = await runtime
    .run(filestoreProbeSpec(instance, probe.image, probe.namespace))
    .then((result) => filestoreBytesOf(result.output))
    .catch(() => undefined);
  if (measured !== undefined) return measured;
  const state = await runtime.state(instance.container_name).catch(() => undefined);
  if (!state?.running) return undefined;
  const inside = await runtime
    .exec(instance.container_name, ['du', '-sbD', `${ODOO_DATA_DIR}/filestore/${instance.db_name}`], { user: 'odoo' })
    .catch(() => undefined);
  return filestoreBytesOf(inside?.output);
}

/** Odoo's session files (`<data_dir>/sessions/<2 chars>/<sid>`), touched when a user opens the web client. */
export const SESSION_WINDOW_MINUTES = 60;

/**
 * The one-off that counts the sessions used within the last hour, with the same confinement as the
 * filestore's: `find` of the volume's session folder, files only, links never followed, one
 * `s` line per session (a name the tenant chose is never printed, so it cannot forge the count).
 */
export function sessionsProbeSpec(instance: MeasuredInstance, image: string, namespace: string): OneOffSpec {
  return {
    ...filestoreProbeSpec(instance, image, namespace),
    name: usageProbeNames(instance.container_name).sessions,
    entrypoint: ['timeout', '-s', 'KILL', '60', 'find'],
    command: [
      `${ODOO_DATA_DIR}/sessions`,
      '-xdev',
      '-mindepth',
      '2',
      '-maxdepth',
      '2',
      '-type',
      'f',
      '-mmin',
      `-${SESSION_WINDOW_MINUTES}`,
      '-printf',
      's\\n',
    ],
  };
}

/** The sessions `find` printed: its `s` lines (0 when the folder is missing: no session yet). */
export function sessionsOf(output: string | undefined): number | undefined {
  if (output === undefined) return undefined;
  return output.split('\n').filter((line) => line === 's').length;
}

/** Counts the instance's recent Odoo sessions from a one-off (sessionsProbeSpec); undefined when it cannot run. */
export async function measureSessions(
  runtime: Pick<Runtime, 'run' | 'volumeExists'>,
  instance: MeasuredInstance,
  probe: { image: string; namespace: string },
): Promise<number | undefined> {
  if (!(await runtime.volumeExists(instance.volume_name).catch(() => false))) return undefined;
  return runtime
    .run(sessionsProbeSpec(instance, probe.image, probe.namespace))
    .then((result) => sessionsOf(result.output))
    .catch(() => undefined);
}
