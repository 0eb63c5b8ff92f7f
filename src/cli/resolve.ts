import type { MarinaClient } from './api/client.js';
import type { Instance, Project } from './api/types.js';
import { CliUsageError } from './errors.js';

/** How commands name projects and instances: their id, or their path of names. */

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ids as the server writes them: lowercase only. */
const LOWERCASE_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** "org/project" or a project id. */
export async function resolveProject(c: MarinaClient, ref: string): Promise<Project> {
  const { projects } = await c.call(c.api.GET('/api/v1/projects'));
  if (LOWERCASE_UUID.test(ref)) {
    const found = projects.find((p) => p.id === ref);
    if (found) return found;
  }
  const [org, name] = ref.split('/');
  if (org && name) {
    const { organizations } = await c.call(c.api.GET('/api/v1/organizations'));
    const orgId = organizations.find((o) => o.slug === org || o.id === org)?.id;
    const found = projects.find((p) => p.organizationId === orgId && p.name === name);
    if (found) return found;
  }
  throw new CliUsageError(`No project "${ref}": give its id or ORGANIZATION/PROJECT (see \`marina projects ls\`).`);
}

/** "org/project/instance" or an instance id. */
export async function resolveInstance(c: MarinaClient, ref: string): Promise<Instance> {
  if (LOWERCASE_UUID.test(ref))
    return (await c.call(c.api.GET('/api/v1/instances/{id}', { params: { path: { id: ref } } }))).instance;
  const parts = ref.split('/');
  if (parts.length === 3) {
    const project = await resolveProject(c, `${parts[0]}/${parts[1]}`);
    const { instances } = await c.call(c.api.GET('/api/v1/instances', { params: { query: { project: project.id } } }));
    const found = instances.find((i) => i.name === parts[2]);
    if (found) return found;
  }
  throw new CliUsageError(
    `No instance "${ref}": give its id or ORGANIZATION/PROJECT/INSTANCE (see \`marina instances ls\`).`,
  );
}
