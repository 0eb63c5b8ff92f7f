import type { Kysely } from 'kysely';
import type { Database, Instance } from '../../db/schema.js';
import type { AuditTarget } from './vocabulary.js';

/** An instance as an audit target, always labelled. */
export type InstanceTarget = AuditTarget<'instance'> & { label: string };

/** An instance as every audit event names it: `<project>/<instance>`. */
export async function instanceTarget(
  db: Kysely<Database>,
  instance: Pick<Instance, 'id' | 'name' | 'project_id'>,
): Promise<InstanceTarget> {
  const project = await db
    .selectFrom('projects')
    .select('name')
    .where('id', '=', instance.project_id)
    .executeTakeFirstOrThrow();
  return { type: 'instance', id: instance.id, label: `${project.name}/${instance.name}` };
}
