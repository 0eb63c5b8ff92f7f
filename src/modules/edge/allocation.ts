import { createServer } from 'node:net';
import type { EdgeConfig } from '../../config.js';
import type { Db } from '../../db/database.js';
import { MarinaError } from '../../platform/errors.js';
import { edgeIpCandidates, platformLabel, uniqueLabel } from './names.js';

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
 * An instance's platform name (`<label>.<base domain>`) and edge address, both unused. Runs in the
 * caller's transaction; the unique indexes on both columns settle a race between two creations.
 */
export async function allocateEdgeIdentity(
  db: Db,
  edge: Pick<EdgeConfig, 'baseDomain' | 'namePattern'>,
  parts: { instance: string; projectId: string; organizationId: string; exactLabel?: string | undefined },
): Promise<{ hostname: string; edge_ip: string }> {
  const [project, org, rows] = await Promise.all([
    db.selectFrom('projects').select('name').where('id', '=', parts.projectId).executeTakeFirstOrThrow(),
    db.selectFrom('organizations').select('slug').where('id', '=', parts.organizationId).executeTakeFirstOrThrow(),
    db.selectFrom('instances').select(['hostname', 'edge_ip']).execute(),
  ]);
  const hostnames = new Set(rows.map((r) => r.hostname));
  const addresses = new Set(rows.map((r) => r.edge_ip));
  const suffix = `.${edge.baseDomain}`;
  // A name the customer chose is theirs or refused: never quietly given a -2.
  if (parts.exactLabel !== undefined && hostnames.has(`${parts.exactLabel}${suffix}`))
    throw new MarinaError('MARINA_E_NAME_TAKEN', `${parts.exactLabel}${suffix} is taken.`, { name: parts.exactLabel });
  const label =
    parts.exactLabel ??
    uniqueLabel(
      platformLabel(edge.namePattern, { instance: parts.instance, project: project.name, org: org.slug }),
      (candidate) => hostnames.has(`${candidate}${suffix}`),
    );
  let tried = 0;
  for (const ip of edgeIpCandidates()) {
    if (addresses.has(ip)) continue;
    if (await addressIsFree(ip)) return { hostname: `${label}${suffix}`, edge_ip: ip };
    if (++tried > 64) break;
  }
  throw new MarinaError('MARINA_E_NO_FREE_EDGE_ADDRESS');
}
