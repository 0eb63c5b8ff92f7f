import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { useSearchParams } from 'react-router-dom';
import { SLUG_RULE } from '../../../../src/platform/name-rule';
import { api, call } from '../../api/client';
import { ApiError } from '../../api/errors';
import { limits } from '../../api/limits';
import { type Credentials, type Instance, type Job, type Project, type Stage, stages } from '../../api/types';
import { Alert } from '../../components/Alert';
import { ChoiceCard } from '../../components/ChoiceCard';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { EmailField, SlugField } from '../../components/FormFields';
import { StageBadge } from '../../components/StatusBadges';
import { formatMemoryMb, languages, sizePresets, stageHelp } from '../../operate';
import { can } from '../../session/permissions';
import { useMe } from '../../session/SessionContext';
import { type OrganizationUsage, usageQuery } from '../plans/api';
import type { UsableTemplate } from '../templates/api';
import { TemplateSelect } from '../templates/TemplateSelect';
import { useOdooVersions } from './versions';

const cpuRange = limits.instanceCpus;
const memoryRange = limits.instanceMemoryMb;

type SizeChoice = (typeof sizePresets)[number]['id'] | 'custom';

/** Why the organization's plan has no room for another instance of the stage, or null. */
function stageRefusalOf(usage: OrganizationUsage | undefined, stage: Stage): string | null {
  const can = usage?.can[`create${stage[0]?.toUpperCase()}${stage.slice(1)}` as 'createProduction'];
  return can && !can.ok ? (can.reason ?? 'Not in the plan.') : null;
}

/** Step 2: the instance's name, stage, version, size and administrator; creating it starts its job. */
export function InstanceStep({
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
  const versions = useOdooVersions();
  const projectVersion = versions.data?.find((v) => v.version === project.odooVersion);
  // A project's page links here with the stage (and a free name) it adds an instance to.
  const [params] = useSearchParams();
  const [name, setName] = useState(params.get('name') ?? '');
  const [stage, setStage] = useState<Stage>(() => stages.find((s) => s === params.get('stage')) ?? 'production');
  // The plan says before the user tries which stages have no room left, and why.
  const usage = useQuery(usageQuery(project.organizationId));
  // The role first (developers make staging and development, production needs an admin), then the plan.
  const stageRefusal = useCallback(
    (s: Stage) =>
      can(me, project.organizationId, 'instance.operate', s)
        ? stageRefusalOf(usage.data, s)
        : `Your role in ${organizationName} cannot create ${s} instances.`,
    [me, project.organizationId, usage.data, organizationName],
  );
  // A refused stage is not left chosen: the first one allowed is.
  useEffect(() => {
    if (stageRefusal(stage) === null) return;
    const open = stages.find((s) => stageRefusal(s) === null);
    if (open) setStage(open);
  }, [stageRefusal, stage]);
  const [size, setSize] = useState<SizeChoice>('small');
  const [cpus, setCpus] = useState('1');
  const [memoryMb, setMemoryMb] = useState('2048');
  const [adminLogin, setAdminLogin] = useState(me.user.email);
  const [language, setLanguage] = useState('en_US');
  const [country, setCountry] = useState('');
  const [template, setTemplate] = useState<UsableTemplate | null>(null);
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
            ...(template ? { templateId: template.id } : {}),
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
      {projectVersion && !projectVersion.available ? (
        <Alert kind="error">
          Odoo {project.odooVersion} cannot run on this host: {projectVersion.reason}
        </Alert>
      ) : null}
      <FormError
        error={error}
        fields={['name', 'stage', 'cpus', 'memoryMb', 'adminLogin', 'language', 'country', 'templateId']}
      />
      <SlugField
        label="Instance name"
        required
        lowercase
        hint={`${SLUG_RULE[0]?.toUpperCase()}${SLUG_RULE.slice(1)}, at most ${limits.instanceName.maxLength} characters — e.g. “prod” or “staging”.`}
        maxLength={limits.instanceName.maxLength}
        value={name}
        onChange={setName}
        error={fieldErrors.name}
      />
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
              hint={stageRefusal(s) ?? stageHelp[s]}
              disabled={stageRefusal(s) !== null}
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
            <Field
              label="CPUs"
              hint={`${cpuRange.min} to ${cpuRange.max}, in steps of ${cpuRange.step}.`}
              error={fieldErrors.cpus}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  min={cpuRange.min}
                  max={cpuRange.max}
                  step={cpuRange.step}
                  value={cpus}
                  onChange={(e) => setCpus(e.target.value)}
                />
              )}
            </Field>
            <Field label="Memory (MB)" hint={`${memoryRange.min} to ${memoryRange.max}.`} error={fieldErrors.memoryMb}>
              {(props) => (
                <input
                  {...props}
                  type="number"
                  min={memoryRange.min}
                  max={memoryRange.max}
                  step={256}
                  value={memoryMb}
                  onChange={(e) => setMemoryMb(e.target.value)}
                />
              )}
            </Field>
          </div>
        ) : null}
      </fieldset>
      <TemplateSelect
        odooVersion={project.odooVersion}
        value={template}
        error={fieldErrors.templateId}
        onChange={(chosen) => {
          // The template's language and country fill the form; the user may still change them.
          setTemplate(chosen);
          if (chosen) {
            setLanguage(chosen.language);
            setCountry(chosen.country ?? '');
          }
        }}
      />
      <div className="form-grid form-grid-3">
        <EmailField
          label="Administrator login"
          hint="The email the Odoo admin signs in with."
          required
          autoComplete="off"
          value={adminLogin}
          onChange={setAdminLogin}
          error={fieldErrors.adminLogin}
        />
        <Field label="Language" error={fieldErrors.language}>
          {(props) => (
            <select {...props} value={language} onChange={(e) => setLanguage(e.target.value)}>
              {(languages.some((l) => l.code === language)
                ? languages
                : [...languages, { code: language, label: language }]
              ).map((l) => (
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
        <button
          type="submit"
          className="btn btn-primary"
          disabled={busy || !name.trim() || !adminLogin.trim() || projectVersion?.available === false}
        >
          {busy ? 'Creating…' : 'Create instance'}
        </button>
      </div>
    </form>
  );
}
