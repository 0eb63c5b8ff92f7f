import { createServer } from 'node:net';
import type { EdgeConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import { MarinaError } from '../../platform/errors.js';
import { consoleLabel, edgeIpCandidates, platformLabel, RESERVED_LABELS, uniqueLabel } from './names.js';

/** The port every instance's own server of the proxy listens on, at the instance's edge address. */
export const EDGE_INSTANCE_PORT = 8070;

/** Whether nothing (another Marina's proxy) listens on the address yet; only trying tells. */
function addressIsFree(host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'EADDRINUSE'));
    server.listen({ host, port: EDGE_INSTANCE_PORT, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Platform hostnames given once and released when their instance was deleted (finding 3 of the
 * sign-up review): never given again, so a stale CNAME or bookmark pointing at one cannot be taken over.
 */
export async function releasedHostnames(db: Db, suffix: string): Promise<Set<string>> {
  const rows = await db
    .selectFrom('released_hostnames')
    .select('hostname')
    .where('hostname', 'like', `%${suffix.replace(/[\\%_]/g, (c) => `\\${c}`)}`)
    .execute();
  return new Set(rows.map((r) => r.hostname));
}

/**
 * An instance's platform name (`<label>.<base domain>`) and edge address, both unused. Runs in the
 * caller's transaction; the unique indexes on both columns settle a race between two creations.
 * A name is unusable when reserved (the edge's words, the console's own label when `publicUrl` is
 * under the base domain), an instance's, or released by a deleted instance.
 */
export async function allocateEdgeIdentity(
  db: Db,
  edge: Pick<EdgeConfig, 'baseDomain' | 'namePattern'> & { publicUrl?: string | undefined },
  parts: { instance: string; projectId: string; organizationId: string; exactLabel?: string | undefined },
): Promise<{ hostname: string; edge_ip: string }> {
  const suffix = `.${edge.baseDomain}`;
  const [project, org, rows, released] = await Promise.all([
    db.selectFrom('projects').select('name').where('id', '=', parts.projectId).executeTakeFirstOrThrow(),
    db.selectFrom('organizations').select('slug').where('id', '=', parts.organizationId).executeTakeFirstOrThrow(),
    db.selectFrom('instances').select(['hostname', 'edge_ip']).execute(),
    releasedHostnames(db, suffix),
  ]);
  const hostnames = new Set(rows.map((r) => r.hostname));
  const addresses = new Set(rows.map((r) => r.edge_ip));
  const consoleName = consoleLabel(edge.publicUrl, edge.baseDomain);
  const unusable = (label: string): boolean =>
    label === consoleName || hostnames.has(`${label}${suffix}`) || released.has(`${label}${suffix}`);
  // A name the customer chose is theirs or refused: never quietly given a -2.
  if (parts.exactLabel !== undefined && (RESERVED_LABELS.has(parts.exactLabel) || unusable(parts.exactLabel)))
    throw new MarinaError('MARINA_E_NAME_TAKEN', `${parts.exactLabel}${suffix} is taken.`, { name: parts.exactLabel });
  const label =
    parts.exactLabel ??
    uniqueLabel(
      platformLabel(edge.namePattern, { instance: parts.instance, project: project.name, org: org.slug }),
      unusable,
    );
  let tried = 0;
  for (const ip of edgeIpCandidates()) {
    if (addresses.has(ip)) continue;
    if (await addressIsFree(ip)) return { hostname: `${label}${suffix}`, edge_ip: ip };
    if (++tried > 64) break;
  }
  throw new MarinaError('MARINA_E_NO_FREE_EDGE_ADDRESS');
}
