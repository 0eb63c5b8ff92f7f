import type { Static } from 'typebox';
import type { Actor } from '../../platform/context.js';
import type { BackupView } from '../backups/views.js';
import type { InstanceView } from '../instances/service.js';
import type { LastBackup, ProjectInstance, ProjectStages } from './schemas.js';
import { type ProjectService, type ProjectView, projectView } from './service.js';

type LastBackupView = Static<typeof LastBackup>;
type ProjectInstanceView = Static<typeof ProjectInstance>;
export type ProjectStagesView = Static<typeof ProjectStages>;

/**
 * What a project's page reads from the modules built after projects: their services are passed in
 * (the routes have them all), so projects never reach into the instances' or backups' tables.
 */
export interface ProjectOverviewDeps {
  projects: Pick<ProjectService, 'get'>;
  instances: { list(actor: Actor, filter: { projectId?: string }): Promise<InstanceView[]> };
  backups: { list(actor: Actor, filter: { instanceId?: string; limit?: number }): Promise<BackupView[]> };
}

/** How many of an instance's newest backups are read to find its last finished one. */
const BACKUPS_LOOKED_AT = 20;

/** The newest backup that finished, either way: one still being written says nothing yet. */
export function lastFinished(backups: readonly BackupView[]): LastBackupView | null {
  const last = backups.find((b) => b.status === 'completed' || b.status === 'failed');
  if (!last || (last.status !== 'completed' && last.status !== 'failed')) return null;
  return {
    id: last.id,
    status: last.status,
    trigger: last.trigger,
    createdAt: last.createdAt,
    completedAt: last.completedAt,
    problem: last.status === 'failed' || last.copies.some((c) => c.status === 'failed'),
  };
}

/**
 * A project with its instances by stage. Access is the project's (members of its organization and
 * platform admins); anyone else gets "not found", as for the project itself.
 */
export async function projectOverview(
  deps: ProjectOverviewDeps,
  actor: Actor,
  id: string,
): Promise<{ project: ProjectView; stages: ProjectStagesView }> {
  const project = projectView(await deps.projects.get(actor, id));
  const instances = await deps.instances.list(actor, { projectId: project.id });
  const withBackups: ProjectInstanceView[] = await Promise.all(
    instances.map(async (instance) => ({
      ...instance,
      lastBackup: lastFinished(await deps.backups.list(actor, { instanceId: instance.id, limit: BACKUPS_LOOKED_AT })),
    })),
  );
  return {
    project,
    stages: {
      production: withBackups.filter((i) => i.stage === 'production'),
      staging: withBackups.filter((i) => i.stage === 'staging'),
      development: withBackups.filter((i) => i.stage === 'development'),
    },
  };
}
