import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { organizationsQuery } from '../api/queries';
import type { Stage } from '../api/types';
import { Alert } from '../components/Alert';
import { Loading } from '../components/EmptyState';
import { ArrowLeftIcon, CloneIcon, PlusIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { can } from '../session/permissions';
import { useMe } from '../session/SessionContext';
import { type ProjectInstance, projectOverviewQuery } from './project/queries';
import { StageColumn } from './project/StageColumn';
import '../styles/project.css';

/** Statuses whose instance cannot give its data to a clone (as on the clone page). */
const NOT_CLONABLE = new Set(['provisioning', 'failed', 'deleting', 'restoring']);

/** The first of `base`, `base-2`, `base-3`… that no instance of the project has. */
function freeName(base: string, taken: readonly ProjectInstance[]): string {
  const names = new Set(taken.map((i) => i.name));
  if (!names.has(base)) return base;
  let n = 2;
  while (names.has(`${base}-${n}`)) n++;
  return `${base}-${n}`;
}

/** A button that cannot be used now, saying why on screen and to screen readers. */
function Unavailable({ label, reason }: { label: string; reason: string }) {
  return (
    <>
      <button type="button" className="btn btn-secondary btn-small" disabled title={reason}>
        <CloneIcon />
        {label}
      </button>
      <p className="muted project-stage-why">{reason}</p>
    </>
  );
}

/**
 * A project as Odoo.sh shows one: production, staging and development side by side, each with its
 * instances (status, version, URL, last backup), and the ways to add to them — a staging copied
 * from production, a new development instance.
 */
export function ProjectPage() {
  const { id = '' } = useParams();
  const me = useMe();
  const overview = useQuery(projectOverviewQuery(id));
  const orgs = useQuery(organizationsQuery());

  const back = (org: { slug: string; name: string } | undefined) => (
    <Link className="back-link" to={org ? `/organizations/${org.slug}` : '/instances'}>
      <ArrowLeftIcon />
      {org ? org.name : 'Instances'}
    </Link>
  );

  if (overview.error)
    return (
      <>
        {back(undefined)}
        <PageHeader title="Project" />
        <Alert kind="error" title="This project cannot be shown">
          {errorMessage(overview.error)}
        </Alert>
      </>
    );
  if (!overview.data) return <Loading />;

  const { project, stages } = overview.data;
  const org = (orgs.data ?? []).find((o) => o.id === project.organizationId);
  // Each stage's "new" follows the role's permission on that stage; copying production reads it as an operator.
  const mayCreate = (stage: Stage) => can(me, project.organizationId, 'instance.operate', stage);
  const everyone = [...stages.production, ...stages.staging, ...stages.development];
  const production = stages.production.find((i) => !NOT_CLONABLE.has(i.status)) ?? stages.production[0];
  const newInstance = (stage: Stage) =>
    `/instances/new?${new URLSearchParams({ project: project.id, stage, name: freeName(stage === 'development' ? 'dev' : stage, everyone) })}`;

  let stagingAction: ReactNode = null;
  if (mayCreate('staging') && mayCreate('production')) {
    if (!production)
      stagingAction = (
        <Unavailable label="New staging from production" reason="There is no production instance to copy yet." />
      );
    else if (NOT_CLONABLE.has(production.status))
      stagingAction = (
        <Unavailable
          label="New staging from production"
          reason={`${production.name} is ${production.status}: it can be copied once it is ready.`}
        />
      );
    else {
      const query = new URLSearchParams({
        target: 'new',
        project: project.id,
        stage: 'staging',
        name: freeName('staging', everyone),
      });
      stagingAction = (
        <Link
          className="btn btn-primary btn-small"
          data-permission="instance.operate"
          to={`/instances/${production.id}/clone?${query}`}
        >
          <CloneIcon />
          New staging from production
        </Link>
      );
    }
  }

  return (
    <>
      {back(org)}
      <PageHeader
        title={project.displayName}
        subtitle={
          <>
            {org ? `${org.name} · ` : ''}
            <span className="mono">{project.name}</span> · Odoo {project.odooVersion}
          </>
        }
      />
      <div className="project-stages">
        <StageColumn
          stage="production"
          instances={stages.production}
          action={
            mayCreate('production') && stages.production.length === 0 ? (
              <Link
                className="btn btn-secondary btn-small"
                data-permission="instance.operate@production"
                to={newInstance('production')}
              >
                <PlusIcon />
                New production instance
              </Link>
            ) : null
          }
        />
        <StageColumn stage="staging" instances={stages.staging} action={stagingAction} />
        <StageColumn
          stage="development"
          instances={stages.development}
          action={
            mayCreate('development') ? (
              <Link
                className="btn btn-secondary btn-small"
                data-permission="instance.operate"
                to={newInstance('development')}
              >
                <PlusIcon />
                New development instance
              </Link>
            ) : null
          }
        />
      </div>
    </>
  );
}
