import { ApiError, type MarinaClient } from '../api/client.js';
import type { Destination } from '../api/types.js';
import { CliUsageError } from '../errors.js';
import { UUID } from '../resolve.js';

/** Organizations and destinations named on the command line. */

export async function organizationId(c: MarinaClient, ref: string): Promise<string> {
  try {
    const { organization } = await c.call(c.api.GET('/api/v1/organizations/{id}', { params: { path: { id: ref } } }));
    return organization.id;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404)
      throw new ApiError(404, error.code, `No organization "${ref}" (see \`marina orgs ls\`).`);
    throw error;
  }
}

export async function listDestinations(c: MarinaClient, orgId?: string): Promise<Destination[]> {
  return (await c.call(c.api.GET('/api/v1/destinations', { params: { query: { organizationId: orgId } } })))
    .destinations;
}

/** A destination by id, or by name among those visible (an organization's own first). */
export async function resolveDestination(
  c: MarinaClient,
  ref: string,
  orgId: string | undefined,
  known?: Destination[],
): Promise<Destination> {
  const all = known ?? (await listDestinations(c, orgId));
  if (UUID.test(ref)) {
    const found = all.find((d) => d.id === ref.toLowerCase());
    if (found) return found;
    return (await c.call(c.api.GET('/api/v1/destinations/{id}', { params: { path: { id: ref } } }))).destination;
  }
  const named = all.filter((d) => d.name.toLowerCase() === ref.trim().toLowerCase());
  const own = orgId ? named.filter((d) => d.organizationId === orgId) : [];
  if (own.length === 1 && own[0]) return own[0];
  if (named.length === 1 && named[0]) return named[0];
  if (named.length > 1)
    throw new CliUsageError(
      `Several destinations are named "${ref}" (${named.map((d) => d.id).join(', ')}): give --org or the id.`,
    );
  throw new CliUsageError(`No destination "${ref}": give its name or id (see \`marina destinations ls\`).`);
}

/** Names of the destinations an instance's organization may use, by id. */
export async function destinationNames(
  c: MarinaClient,
  instance: { organizationId: string },
): Promise<Map<string, string>> {
  const rows = await listDestinations(c, instance.organizationId).catch(() => [] as Destination[]);
  return new Map(rows.map((d) => [d.id, d.name]));
}
