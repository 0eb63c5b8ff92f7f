import { type FormEvent, type ReactNode, useEffect, useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError, errorMessage } from '../api/errors';
import { type Credentials, type Instance, type Job, type Project, type Stage, stages } from '../api/types';
import { Alert } from '../components/Alert';
import { ChoiceCard } from '../components/ChoiceCard';
import { CopyField } from '../components/CopyField';
import { Loading } from '../components/EmptyState';
import { Field } from '../components/Field';
import { FormError } from '../components/FormError';
import { ArrowLeftIcon, CheckIcon, ExternalIcon } from '../components/icons';
import { JobError, JobLog, JobSteps } from '../components/JobParts';
import { PageHeader } from '../components/PageHeader';
import { ProgressBar } from '../components/ProgressBar';
import { StageBadge } from '../components/StatusBadges';
import { slugify } from '../format';
import { useJobStream, useNow } from '../live';
import {
  formatMemoryMb,
  jobDuration,
  languages,
  odooVersions,
  sizePresets,
  stageHelp,
  stageLabel,
  stepLabel,
} from '../operate';
import { useMe } from '../session/SessionContext';
import { useLoader } from '../useLoader';

const INSTANCE_NAME_MAX = 30;

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

interface OrgChoice {
  id: string;
  slug: string;
  name: string;
}

function ProjectStep({
  organizations,
  projects,
  initialProject,
  onChosen,
}: {
  organizations: OrgChoice[];
  projects: Project[];
  initialProject: Project | null;
  onChosen(project: Project): void;
}) {
  const [mode, setMode] = useState<'existing' | 'new'>(projects.length > 0 ? 'existing' : 'new');
  const [projectId, setProjectId] = useState(initialProject?.id ?? projects[0]?.id ?? '');
  const [organization, setOrganization] = useState(organizations[0]?.id ?? '');
  const [displayName, setDisplayName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [version, setVersion] = useState('18.0');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const shownSlug = slugEdited ? slug : slugify(displayName);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (mode === 'existing') {
      const chosen = projects.find((p) => p.id === projectId);
      if (chosen) onChosen(chosen);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { project } = await call(
        api.POST('/api/v1/projects', {
          body: {
            organization,
            name: shownSlug,
            ...(displayName.trim() ? { displayName: displayName.trim() } : {}),
            odooVersion: version,
          },
        }),
      );
      onChosen(project);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <form className="form" onSubmit={submit} noValidate>
      <fieldset className="choice-group">
        <legend>Project</legend>
        <p className="field-hint">A project holds one customer’s Odoo: its version and its instances by stage.</p>
        <div className="choice-grid choice-grid-2">
          <ChoiceCard
            name="project-mode"
            value="existing"
            checked={mode === 'existing'}
            onChange={() => setMode('existing')}
            title="Use an existing project"
            hint={projects.length > 0 ? `${projects.length} available` : 'None yet'}
          />
          <ChoiceCard
            name="project-mode"
            value="new"
            checked={mode === 'new'}
            onChange={() => setMode('new')}
            title="Create a new project"
            hint="Choose its organization and Odoo version"
          />
        </div>
      </fieldset>
      <FormError error={error} fields={['organization', 'name', 'displayName', 'odooVersion']} />
      {mode === 'existing' ? (
        projects.length > 0 ? (
          <Field label="Project" hint="Grouped by organization.">
            {(props) => (
              <select {...props} value={projectId} onChange={(e) => setProjectId(e.target.value)}>
                {organizations.map((org) => {
                  const own = projects.filter((p) => p.organizationId === org.id);
                  if (own.length === 0) return null;
                  return (
                    <optgroup key={org.id} label={org.name}>
                      {own.map((p) => (
                        <option key={p.id} value={p.id}>
                          {p.displayName} ({p.name}) — Odoo {p.odooVersion}
                        </option>
                      ))}
                    </optgroup>
                  );
                })}
              </select>
            )}
          </Field>
        ) : (
          <Alert kind="info">There is no project yet: create one.</Alert>
        )
      ) : (
        <div className="form-grid">
          <Field label="Organization" error={fieldErrors.organization}>
            {(props) => (
              <select {...props} value={organization} onChange={(e) => setOrganization(e.target.value)}>
                {organizations.map((org) => (
                  <option key={org.id} value={org.id}>
                    {org.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Odoo version" error={fieldErrors.odooVersion} hint="Every instance of the project runs it.">
            {(props) => (
              <select {...props} value={version} onChange={(e) => setVersion(e.target.value)}>
                {odooVersions.map((v) => (
                  <option key={v} value={v}>
                    Odoo {v}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Display name" optional error={fieldErrors.displayName}>
            {(props) => (
              <input
                {...props}
                value={displayName}
                placeholder="e.g. ACME ERP"
                onChange={(e) => setDisplayName(e.target.value)}
              />
            )}
          </Field>
          <Field
            label="Project slug"
            hint="Lowercase letters, digits and dashes; part of container names."
            error={fieldErrors.name}
          >
            {(props) => (
              <input
                {...props}
                required
                className="mono"
                value={shownSlug}
                onChange={(e) => {
                  setSlugEdited(true);
                  setSlug(e.target.value);
                }}
              />
            )}
          </Field>
        </div>
      )}
      <div className="form-actions">
        <Link className="btn btn-secondary" to="/instances">
          Cancel
        </Link>
        <button
          type="submit"
          className="btn btn-primary"
          disabled={busy || (mode === 'existing' ? !projectId : !organization || !shownSlug)}
        >
          {busy ? 'Creating project…' : mode === 'new' ? 'Create project and continue' : 'Continue'}
        </button>
      </div>
    </form>
  );
}

type SizeChoice = (typeof sizePresets)[number]['id'] | 'custom';

function InstanceStep({
  project,
  organizationName,
  onBack,
  onCreated,
}: {
  project: Project;
  organizationName: string;
  onBack(): void;
  onCreated(answer: { instance: Instance; job: Job; credentials: Credentials }): void;
}) {
  const me = useMe();
  const [name, setName] = useState('');
  const [stage, setStage] = useState<Stage>('production');
  const [size, setSize] = useState<SizeChoice>('small');
  const [cpus, setCpus] = useState('1');
  const [memoryMb, setMemoryMb] = useState('2048');
  const [adminLogin, setAdminLogin] = useState(me.user.email);
  const [language, setLanguage] = useState('en_US');
  const [country, setCountry] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const preset = sizePresets.find((p) => p.id === size);
  const chosenCpus = preset ? preset.cpus : Number(cpus);
  const chosenMemory = preset ? preset.memoryMb : Number(memoryMb);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await call(
        api.POST('/api/v1/instances', {
          body: {
            project: project.id,
            name: name.trim(),
            stage,
            cpus: chosenCpus,
            memoryMb: chosenMemory,
            adminLogin: adminLogin.trim(),
            language,
            ...(country.trim() ? { country: country.trim().toUpperCase() } : {}),
          },
        }),
      );
      onCreated(answer);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <form className="form" onSubmit={submit} noValidate>
      <div className="chosen-project">
        <div>
          <span className="stat-label">Project</span>
          <p className="chosen-project-name">
            {project.displayName} <span className="mono muted">{project.name}</span>
          </p>
          <p className="muted">
            {organizationName} · Odoo {project.odooVersion}
          </p>
        </div>
        <button type="button" className="btn btn-ghost" onClick={onBack}>
          Change
        </button>
      </div>
      <FormError error={error} fields={['name', 'stage', 'cpus', 'memoryMb', 'adminLogin', 'language', 'country']} />
      <Field
        label="Instance name"
        hint={`Lowercase letters, digits and dashes, at most ${INSTANCE_NAME_MAX} characters — e.g. “prod” or “staging”.`}
        error={fieldErrors.name}
      >
        {(props) => (
          <input
            {...props}
            required
            className="mono"
            maxLength={INSTANCE_NAME_MAX}
            value={name}
            onChange={(e) => setName(e.target.value.toLowerCase())}
          />
        )}
      </Field>
      <fieldset className="choice-group">
        <legend>Stage</legend>
        <div className="choice-grid choice-grid-3">
          {stages.map((s) => (
            <ChoiceCard
              key={s}
              name="stage"
              value={s}
              checked={stage === s}
              onChange={() => setStage(s)}
              className={`choice-stage-${s}`}
              title={<StageBadge stage={s} />}
              hint={stageHelp[s]}
            />
          ))}
        </div>
        {fieldErrors.stage ? <p className="field-error">{fieldErrors.stage}</p> : null}
      </fieldset>
      <fieldset className="choice-group">
        <legend>Size</legend>
        <div className="choice-grid choice-grid-4">
          {sizePresets.map((p) => (
            <ChoiceCard
              key={p.id}
              name="size"
              value={p.id}
              checked={size === p.id}
              onChange={() => setSize(p.id)}
              title={p.label}
              hint={
                <>
                  <strong>
                    {p.cpus} CPU · {formatMemoryMb(p.memoryMb)}
                  </strong>
                  <br />
                  {p.hint}
                </>
              }
            />
          ))}
          <ChoiceCard
            name="size"
            value="custom"
            checked={size === 'custom'}
            onChange={() => setSize('custom')}
            title="Custom"
            hint="Set CPUs and memory yourself"
          />
        </div>
        {size === 'custom' ? (
          <div className="form-grid form-grid-custom">
            <Field label="CPUs" hint="0.5 to 16, in steps of 0.5." error={fieldErrors.cpus}>
              {(props) => (
                <input
                  {...props}
                  type="number"
                  min={0.5}
                  max={16}
                  step={0.5}
                  value={cpus}
                  onChange={(e) => setCpus(e.target.value)}
                />
              )}
            </Field>
            <Field label="Memory (MB)" hint="512 to 65536." error={fieldErrors.memoryMb}>
              {(props) => (
                <input
                  {...props}
                  type="number"
                  min={512}
                  max={65536}
                  step={256}
                  value={memoryMb}
                  onChange={(e) => setMemoryMb(e.target.value)}
                />
              )}
            </Field>
          </div>
        ) : null}
      </fieldset>
      <div className="form-grid form-grid-3">
        <Field
          label="Administrator login"
          hint="The email the Odoo admin signs in with."
          error={fieldErrors.adminLogin}
        >
          {(props) => (
            <input
              {...props}
              type="email"
              required
              autoComplete="off"
              value={adminLogin}
              onChange={(e) => setAdminLogin(e.target.value)}
            />
          )}
        </Field>
        <Field label="Language" error={fieldErrors.language}>
          {(props) => (
            <select {...props} value={language} onChange={(e) => setLanguage(e.target.value)}>
              {languages.map((l) => (
                <option key={l.code} value={l.code}>
                  {l.label} — {l.code}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Country" optional hint="Two letters, e.g. BE." error={fieldErrors.country}>
          {(props) => (
            <input
              {...props}
              className="mono"
              maxLength={2}
              value={country}
              onChange={(e) => setCountry(e.target.value.toUpperCase())}
            />
          )}
        </Field>
      </div>
      <div className="form-actions">
        <button type="button" className="btn btn-secondary" onClick={onBack}>
          Back
        </button>
        <button type="submit" className="btn btn-primary" disabled={busy || !name.trim() || !adminLogin.trim()}>
          {busy ? 'Creating…' : 'Create instance'}
        </button>
      </div>
    </form>
  );
}

function ProvisionProgress({
  instance,
  job: initialJob,
  credentials,
}: {
  instance: Instance;
  job: Job;
  credentials: Credentials;
}) {
  const { job: streamed, logs } = useJobStream(initialJob.id, { job: initialJob });
  const now = useNow(1000);
  const job = streamed ?? initialJob;
  const succeeded = job.status === 'succeeded';
  const failed = job.status === 'failed' || job.status === 'cancelled';
  const index = job.steps.findIndex((s) => s.name === job.step);
  const duration = job.finishedAt ? jobDuration(job, now) : null;

  return (
    <div className="provision" data-testid="provisioning">
      <div className="provision-head">
        {succeeded ? (
          <div className="ready-title">
            <span className="ready-icon" aria-hidden="true">
              <CheckIcon width={22} height={22} />
            </span>
            <div>
              <h2>Ready</h2>
              <p className="muted">
                {instance.name} is running{duration && duration !== '0s' ? ` — provisioned in ${duration}` : ''}.
              </p>
            </div>
          </div>
        ) : (
          <div>
            <h2>{failed ? `Creating ${instance.name} failed` : `Creating ${instance.name}…`}</h2>
            <p className="muted" aria-live="polite">
              {failed
                ? 'Nothing more will happen; see the error below.'
                : job.status === 'queued'
                  ? 'Waiting for a free slot on the host…'
                  : job.step
                    ? `Step ${index + 1} of ${job.steps.length}: ${stepLabel(job.step, job.kind)}`
                    : 'Starting…'}
            </p>
          </div>
        )}
        <span className="provision-percent tabular">{job.progress} %</span>
      </div>
      <ProgressBar
        value={job.progress}
        label="Provisioning progress"
        size="large"
        tone={succeeded ? 'green' : failed ? 'red' : 'brand'}
        active={!succeeded && !failed}
        testId="job-progress"
      />
      {succeeded ? (
        <section className="ready-box" aria-label="Your new instance">
          <p className="ready-url">
            Open Odoo at{' '}
            {(credentials.url ?? instance.url) ? (
              <a
                href={credentials.url ?? instance.url ?? '#'}
                target="_blank"
                rel="noreferrer"
                data-testid="instance-url"
              >
                {credentials.url ?? instance.url}
                <ExternalIcon width={14} height={14} />
              </a>
            ) : (
              <span className="muted">(no address)</span>
            )}
          </p>
          <div className="form-grid">
            <div className="field">
              <span className="stat-label">Administrator login</span>
              <CopyField label="Administrator login" value={credentials.login} />
            </div>
            <div className="field">
              <span className="stat-label">Administrator password</span>
              <CopyField label="Administrator password" value={credentials.password} />
            </div>
          </div>
          <Alert kind="warning">
            The password is shown once here — copy it now. Organization admins can reveal it later from the instance
            page.
          </Alert>
          <div className="form-actions form-actions-start">
            <Link className="btn btn-primary" to={`/instances/${instance.id}`}>
              Open instance page
            </Link>
            <Link className="btn btn-secondary" to="/instances">
              Back to instances
            </Link>
          </div>
        </section>
      ) : null}
      {failed ? <JobError job={job} link /> : null}
      <div className="provision-body">
        <JobSteps job={job} timing />
        {!succeeded && !failed ? (
          <p className="field-hint">
            The administrator password appears here when the instance is ready. You may leave this page: the job goes
            on, and you can follow it under <Link to={`/jobs/${job.id}`}>Jobs</Link>.
          </p>
        ) : null}
      </div>
      <JobLog logs={logs} open={failed} />
    </div>
  );
}

export function NewInstancePage() {
  const me = useMe();
  const orgs = useLoader(async () => (await call(api.GET('/api/v1/organizations'))).organizations, 'organizations');
  const projects = useLoader(async () => (await call(api.GET('/api/v1/projects'))).projects, 'projects');
  const [project, setProject] = useState<Project | null>(null);
  const [step, setStep] = useState<1 | 2 | 3>(1);
  const [created, setCreated] = useState<{ instance: Instance; job: Job; credentials: Credentials } | null>(null);

  // Each step starts at the top, where its title and the step list are.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the step is what should scroll.
  useEffect(() => {
    window.scrollTo({ top: 0 });
  }, [step]);

  /** Where this user may create projects and instances: organizations they administer. */
  const allowed = useMemo<OrgChoice[]>(
    () => (orgs.data ?? []).filter((o) => me.user.isPlatformAdmin || o.role === 'owner' || o.role === 'admin'),
    [orgs.data, me.user.isPlatformAdmin],
  );
  const allowedProjects = useMemo(
    () => (projects.data ?? []).filter((p) => allowed.some((o) => o.id === p.organizationId)),
    [projects.data, allowed],
  );
  const orgName = (id: string) => (orgs.data ?? []).find((o) => o.id === id)?.name ?? '';

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
        Creating instances is for organization owners and admins. Ask one of them, or a platform administrator.
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
          void projects.reload();
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
