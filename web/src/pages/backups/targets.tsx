import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ApiError } from '../../api/errors';
import { limits } from '../../api/limits';
import { instanceQuery } from '../../api/queries';
import { type FillTarget, type Instance, type Project, type Stage, stages } from '../../api/types';
import { Alert } from '../../components/Alert';
import { CheckboxField, ChoiceCard } from '../../components/ChoiceCard';
import { ConfirmNameField, typedNameMatches } from '../../components/ConfirmNameField';
import { Field } from '../../components/Field';
import { EmailField, SlugField } from '../../components/FormFields';
import { InstancePicker } from '../../components/InstancePicker';
import { StageBadge } from '../../components/StatusBadges';
import { stageLabel } from '../../operate';
import type { Scope } from './scope';

export type TargetMode = 'self' | 'existing' | 'new';

/** Where a restore, clone or import goes, as the form holds it. */
export interface TargetValue {
  mode: TargetMode;
  instanceId: string;
  project: string;
  name: string;
  stage: Stage;
  adminLogin: string;
  /** null: the default, on unless the target is production. */
  neutralize: boolean | null;
  confirm: string;
}

export function initialTarget(mode: TargetMode, adminLogin: string): TargetValue {
  return {
    mode,
    instanceId: '',
    project: '',
    name: '',
    stage: 'staging',
    adminLogin,
    neutralize: null,
    confirm: '',
  };
}

/**
 * The clone page's form as a link asks for it (a project's "New staging from production":
 * `?target=new&project=…&stage=staging&name=…`); without those, an existing instance.
 */
export function linkedTarget(params: URLSearchParams, adminLogin: string): TargetValue {
  const value = initialTarget(params.get('target') === 'new' ? 'new' : 'existing', adminLogin);
  const stage = stages.find((s) => s === params.get('stage'));
  return {
    ...value,
    project: params.get('project') ?? '',
    name: params.get('name') ?? '',
    stage: stage ?? value.stage,
  };
}

/** What a target may be, given the data's organization and Odoo version (when known). */
export interface TargetChoices {
  projects: Project[];
  /** The organization the instance picker searches, when the data must stay in one. */
  organization: string | undefined;
  /** Whether an existing instance may take the data: the picker offers only those. */
  accept(instance: Instance): boolean;
  /**
   * Whether one may at all: an instance lives in a project of its organization and version, so
   * without such a project none fits (counted from the projects, without listing every instance).
   */
  anyInstance: boolean;
}

export function targetChoices(
  scope: Scope,
  filter: { organizationId?: string | null; odooVersion?: string | null; exclude?: string | null },
): TargetChoices {
  const fits = (item: { organizationId: string; odooVersion: string }) =>
    (!filter.organizationId || item.organizationId === filter.organizationId) &&
    (!filter.odooVersion || item.odooVersion === filter.odooVersion);
  const projects = scope.projects.filter(fits);
  return {
    projects,
    organization: filter.organizationId ?? undefined,
    accept: (instance) => fits(instance) && instance.id !== filter.exclude && scope.canFill(instance),
    anyInstance: projects.length > 0,
  };
}

/** The existing instance the form names, fetched by id (the picker already has it), if it fits. */
export function useChosenInstance(value: TargetValue, choices: TargetChoices): Instance | null {
  const id = value.mode === 'existing' ? value.instanceId : '';
  const chosen = useQuery({ ...instanceQuery(id), enabled: Boolean(id) });
  return id && chosen.data?.id === id && choices.accept(chosen.data) ? chosen.data : null;
}

/** The existing instance the data would replace, if any. */
export function existingTarget(value: TargetValue, self: Instance | null, chosen: Instance | null): Instance | null {
  if (value.mode === 'self') return self;
  if (value.mode === 'existing') return chosen?.id === value.instanceId ? chosen : null;
  return null;
}

export function targetStage(value: TargetValue, self: Instance | null, chosen: Instance | null): Stage | null {
  if (value.mode === 'new') return value.stage;
  return existingTarget(value, self, chosen)?.stage ?? null;
}

export const neutralizeOf = (value: TargetValue, stage: Stage | null): boolean =>
  value.neutralize ?? stage !== 'production';

/** Whether the form says enough to send, typed confirmation included. */
export function targetReady(value: TargetValue, self: Instance | null, chosen: Instance | null): boolean {
  if (value.mode === 'new') return Boolean(value.project && value.name.trim() && value.adminLogin.trim());
  const existing = existingTarget(value, self, chosen);
  if (!existing) return false;
  return existing.stage !== 'production' || typedNameMatches(value.confirm, existing.name);
}

/** The request body's target part; `neutralize` only where the data becomes a copy. */
export function targetBody(
  value: TargetValue,
  self: Instance | null,
  chosen: Instance | null,
  options: { copy: boolean },
): FillTarget {
  const body: FillTarget = {};
  const existing = existingTarget(value, self, chosen);
  if (value.mode === 'existing' && existing) body.instanceId = existing.id;
  if (value.mode === 'new') {
    body.newInstance = {
      project: value.project,
      name: value.name.trim(),
      stage: value.stage,
      adminLogin: value.adminLogin.trim(),
    };
  }
  if (existing?.stage === 'production') body.confirm = value.confirm.trim();
  if (options.copy) body.neutralize = neutralizeOf(value, targetStage(value, self, chosen));
  return body;
}

/** A problem the API names for a field of the new instance, in the body ("newInstance.name") or not. */
export function newInstanceError(error: unknown, field: string): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const errors = error.fieldErrors;
  return errors[`newInstance.${field}`] ?? errors[field];
}

export const TARGET_FIELDS = [
  'instanceId',
  'confirm',
  'project',
  'name',
  'stage',
  'adminLogin',
  'newInstance.project',
  'newInstance.name',
  'newInstance.stage',
  'newInstance.adminLogin',
];

/**
 * The target picker shared by restores, clones and imports: this instance (restores only),
 * another existing instance, or a new one — with the neutralize option and, for production,
 * the typed confirmation.
 */
export function TargetFields({
  value,
  onChange,
  scope,
  self,
  chosen,
  choices,
  projects,
  error,
  verb,
  versionNote,
  selfHint,
  replaceWarning,
  copy = true,
}: {
  value: TargetValue;
  onChange(patch: Partial<TargetValue>): void;
  scope: Scope;
  /** The instance a restore goes back into by default; absent for clones and imports. */
  self?: Instance | null;
  /** The existing instance chosen in the picker (useChosenInstance). */
  chosen: Instance | null;
  choices: TargetChoices;
  /** The projects a new instance may go in. */
  projects: Project[];
  error: unknown;
  /** "restore", "clone", "import": the confirmation sentence uses it. */
  verb: string;
  /** Why some instances and projects are not offered, e.g. "same organization, Odoo 17.0". */
  versionNote?: ReactNode;
  selfHint?: ReactNode;
  replaceWarning(instance: Instance): ReactNode;
  /** Whether the data becomes a copy (neutralize applies); a restore of an instance's own backup does not. */
  copy?: boolean;
}) {
  const existing = existingTarget(value, self ?? null, chosen);
  const stage = targetStage(value, self ?? null, chosen);
  const neutralize = neutralizeOf(value, stage);
  const showSelf = self !== undefined;
  const grouped = scope.organizations
    .map((org) => ({ org, projects: projects.filter((p) => p.organizationId === org.id) }))
    .filter((group) => group.projects.length > 0);

  return (
    <>
      <fieldset className="choice-group">
        <legend>Target</legend>
        {versionNote ? <p className="field-hint">{versionNote}</p> : null}
        <div className={`choice-grid ${showSelf ? 'choice-grid-3' : 'choice-grid-2'}`}>
          {showSelf ? (
            <ChoiceCard
              name="target"
              value="self"
              checked={value.mode === 'self'}
              onChange={() => onChange({ mode: 'self', confirm: '' })}
              disabled={!self}
              title="This instance"
              hint={self ? (selfHint ?? `Back into ${self.name}`) : 'Its instance was deleted'}
            />
          ) : null}
          <ChoiceCard
            name="target"
            value="existing"
            checked={value.mode === 'existing'}
            onChange={() => onChange({ mode: 'existing', confirm: '' })}
            disabled={!choices.anyInstance}
            title={showSelf ? 'Another instance' : 'An existing instance'}
            hint={choices.anyInstance ? 'Chosen by name; its data is replaced' : 'None fits'}
          />
          <ChoiceCard
            name="target"
            value="new"
            checked={value.mode === 'new'}
            onChange={() => onChange({ mode: 'new', project: value.project || projects[0]?.id || '' })}
            disabled={projects.length === 0}
            title="A new instance"
            hint={projects.length === 0 ? 'No project fits' : 'Marina creates it, then fills it'}
          />
        </div>
      </fieldset>

      {value.mode === 'existing' ? (
        <Field
          label="Instance"
          hint="Type part of its name. Only instances that fit are offered."
          error={error instanceof ApiError ? error.fieldErrors.instanceId : undefined}
        >
          {(props) => (
            <InstancePicker
              {...props}
              value={value.instanceId}
              onChange={(instanceId) => onChange({ instanceId, confirm: '' })}
              organization={choices.organization}
              accept={choices.accept}
              placeholder="Search instances"
            />
          )}
        </Field>
      ) : null}

      {value.mode === 'new' ? (
        <div className="form-grid">
          <Field label="Project" error={newInstanceError(error, 'project')}>
            {(props) => (
              <select {...props} value={value.project} onChange={(e) => onChange({ project: e.target.value })}>
                {grouped.map(({ org, projects: own }) => (
                  <optgroup key={org.id} label={org.name}>
                    {own.map((p) => (
                      <option key={p.id} value={p.id}>
                        {p.displayName && p.displayName !== p.name ? `${p.displayName} (${p.name})` : p.name} — Odoo{' '}
                        {p.odooVersion}
                      </option>
                    ))}
                  </optgroup>
                ))}
              </select>
            )}
          </Field>
          <SlugField
            label="Instance name"
            lowercase
            hint="Lowercase letters, digits and dashes."
            maxLength={limits.instanceName.maxLength}
            autoComplete="off"
            placeholder="e.g. staging"
            value={value.name}
            onChange={(name) => onChange({ name })}
            error={newInstanceError(error, 'name')}
          />
          <Field label="Stage" error={newInstanceError(error, 'stage')}>
            {(props) => (
              <select {...props} value={value.stage} onChange={(e) => onChange({ stage: e.target.value as Stage })}>
                {stages.map((s) => (
                  <option key={s} value={s}>
                    {stageLabel[s]}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <EmailField
            label="Administrator email"
            hint="The Odoo admin of the new instance."
            autoComplete="off"
            value={value.adminLogin}
            onChange={(adminLogin) => onChange({ adminLogin })}
            error={newInstanceError(error, 'adminLogin')}
          />
        </div>
      ) : null}

      {existing ? (
        <Alert
          kind={existing.stage === 'production' ? 'error' : 'warning'}
          title={
            existing.stage === 'production'
              ? `${existing.name} is production: its live data is replaced`
              : `${existing.name} is replaced`
          }
        >
          {replaceWarning(existing)}
        </Alert>
      ) : null}

      {value.mode === 'new' && value.stage === 'production' ? (
        <Alert kind="warning" title="A new production instance">
          Production copies are not neutralized by default: the copy could send real emails and run scheduled actions as
          soon as it starts.
        </Alert>
      ) : null}

      {copy ? (
        <CheckboxField
          label="Neutralize the copy"
          checked={neutralize}
          onChange={(checked) => onChange({ neutralize: checked })}
          hint={
            <>
              Switches off outgoing mail servers, scheduled actions, payment providers and other integrations, so the
              copy cannot email customers or charge cards. {stage === 'production' ? 'Off' : 'On'} by default for a{' '}
              {stage ? <StageBadge stage={stage} /> : 'new'} target.
            </>
          }
        />
      ) : null}

      {existing?.stage === 'production' ? (
        <ConfirmNameField
          id="confirm-target-name"
          name={existing.name}
          value={value.confirm}
          onChange={(confirm) => onChange({ confirm })}
          verb={verb}
        />
      ) : null}
    </>
  );
}
