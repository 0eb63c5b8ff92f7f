import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router-dom';
import { errorMessage } from '../api/errors';
import { organizationsQuery, projectsQuery, queryKeys } from '../api/queries';
import type { Credentials, Instance, Job, Project } from '../api/types';
import { Alert } from '../components/Alert';
import { Loading } from '../components/EmptyState';
import { ArrowLeftIcon, CheckIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { stageLabel } from '../operate';
import { can } from '../session/permissions';
import { useMe } from '../session/SessionContext';
import { InstanceStep } from './new-instance/InstanceStep';
import { type OrgChoice, ProjectStep } from './new-instance/ProjectStep';
import { ProvisionProgress } from './new-instance/ProvisionProgress';

function WizardSteps({ current }: { current: 1 | 2 | 3 }) {
  const steps = ['Project', 'Instance', 'Provisioning'];
  return (
    <ol className="wizard-steps" aria-label="Progress through the form">
      {steps.map((label, index) => {
        const number = index + 1;
        const state = number < current ? 'done' : number === current ? 'current' : 'todo';
        return (
          <li
            key={label}
            className={`wizard-step wizard-step-${state}`}
            aria-current={state === 'current' ? 'step' : undefined}
          >
            <span className="wizard-step-number" aria-hidden="true">
              {state === 'done' ? <CheckIcon width={14} height={14} /> : number}
            </span>
            {label}
          </li>
        );
      })}
    </ol>
  );
}

export function NewInstancePage() {
  const me = useMe();
  const queryClient = useQueryClient();
  const orgs = useQuery(organizationsQuery());
  const projects = useQuery(projectsQuery());
  const [project, setProject] = useState<Project | null>(null);
  const [step, setStep] = useState<1 | 2 | 3>(1);
  const [created, setCreated] = useState<{ instance: Instance; job: Job; credentials: Credentials } | null>(null);

  // Each step starts at the top, where its title and the step list are.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the step is what should scroll.
  useEffect(() => {
    window.scrollTo({ top: 0 });
  }, [step]);

  /** Where this user may create instances (of some stage; the next step offers the stages the role allows). */
  const allowed = useMemo<OrgChoice[]>(
    () => (orgs.data ?? []).filter((o) => can(me, o.id, 'instance.operate')),
    [orgs.data, me],
  );
  const allowedProjects = useMemo(
    () => (projects.data ?? []).filter((p) => allowed.some((o) => o.id === p.organizationId)),
    [projects.data, allowed],
  );
  const orgName = (id: string) => (orgs.data ?? []).find((o) => o.id === id)?.name ?? '';

  // From a project's page (?project=…): that project is chosen, the form opens at step 2.
  const [params] = useSearchParams();
  const linkedProject = allowedProjects.find((p) => p.id === params.get('project'));
  const linkApplied = useRef(false);
  useEffect(() => {
    if (!linkedProject || linkApplied.current) return;
    linkApplied.current = true;
    setProject(linkedProject);
    setStep(2);
  }, [linkedProject]);

  const back = (
    <Link className="back-link" to="/instances">
      <ArrowLeftIcon />
      Instances
    </Link>
  );

  let body: ReactNode;
  if (orgs.error || projects.error) {
    body = <Alert kind="error">{errorMessage(orgs.error ?? projects.error)}</Alert>;
  } else if (!orgs.data || !projects.data) {
    body = <Loading />;
  } else if (allowed.length === 0) {
    body = (
      <Alert kind="info" title="You cannot create instances">
        Creating instances is for organization owners, admins and developers (staging and development). Ask one of them,
        or a platform administrator.
      </Alert>
    );
  } else if (step === 1) {
    body = (
      <ProjectStep
        organizations={allowed}
        projects={allowedProjects}
        initialProject={project}
        onChosen={(chosen) => {
          setProject(chosen);
          setStep(2);
          void queryClient.invalidateQueries({ queryKey: queryKeys.projects.all });
        }}
      />
    );
  } else if (step === 2 && project) {
    body = (
      <InstanceStep
        project={project}
        organizationName={orgName(project.organizationId)}
        onBack={() => setStep(1)}
        onCreated={(answer) => {
          setCreated(answer);
          setStep(3);
          void queryClient.invalidateQueries({ queryKey: queryKeys.instances.all });
          void queryClient.invalidateQueries({ queryKey: queryKeys.jobs.all });
        }}
      />
    );
  } else if (created) {
    body = <ProvisionProgress instance={created.instance} job={created.job} credentials={created.credentials} />;
  }

  return (
    <>
      {back}
      <PageHeader
        title="New instance"
        subtitle={
          created ? (
            <>
              {orgName(created.instance.organizationId)} · {project?.displayName} ·{' '}
              <span className="mono">{created.instance.name}</span> · {stageLabel[created.instance.stage]}
            </>
          ) : (
            'Marina creates the database, the filestore and the container, installs Odoo and starts it.'
          )
        }
      />
      <WizardSteps current={step} />
      <section className="card wizard-card">{body}</section>
    </>
  );
}
