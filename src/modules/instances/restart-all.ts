import { sql } from 'kysely';
import { Type } from 'typebox';
import type { Db } from '../../db/database.js';
import type { Instance } from '../../db/schema.js';

/** An instance "Restart all" restarts, as its confirmation lists it. */
export const RestartAllTarget = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    project: Type.String(),
    stage: Type.Union([Type.Literal('production'), Type.Literal('staging'), Type.Literal('development')]),
  },
  { title: 'RestartAllTarget' },
);

/**
 * What "Restart all" restarts: every running (or unhealthy) instance with no job at work on it,
 * production first, then by project and name. The confirmation lists exactly this selection and
 * the restart takes it again, so what was shown is what happens (minus what changed meanwhile).
 */
export async function restartAllSelection(db: Db): Promise<(Instance & { project_name: string })[]> {
  const rows = await db
    .selectFrom('instances')
    .innerJoin('projects', 'projects.id', 'instances.project_id')
    .selectAll('instances')
    .select('projects.name as project_name')
    .where('instances.status', 'in', ['running', 'unhealthy'])
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('operations')
            .select('operations.id')
            // target_id is text: it names instances, backups and more.
            .where(sql<boolean>`operations.target_id = instances.id::text`)
            .where('operations.status', 'in', ['queued', 'running']),
        ),
      ),
    )
    .orderBy('projects.name')
    .orderBy('instances.name')
    .execute();
  const production = rows.filter((r) => r.stage === 'production');
  return [...production, ...rows.filter((r) => r.stage !== 'production')];
}
