import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { instanceQuery } from '../../api/queries';
import type { Instance, Job } from '../../api/types';
import { Alert } from '../../components/Alert';
import { CheckboxField } from '../../components/ChoiceCard';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { InstancePicker } from '../../components/InstancePicker';
import { ArrowLeftIcon, ArrowRightIcon } from '../../components/icons';
import { JobProgress } from '../../components/JobProgress';
import { PageHeader } from '../../components/PageHeader';
import { useToast } from '../../components/Toast';
import { stageLabel } from '../../operate';
import { useMe } from '../../session/SessionContext';
import { CopyCredentials } from '../instance/AdminPassword';
import { DatabaseCard, useDatabaseInfo } from './DatabaseCard';
import { useAdminScope } from './scope';
import {
  existingTarget,
  linkedTarget,
  TARGET_FIELDS,
  TargetFields,
  type TargetValue,
  targetBody,
  targetChoices,
  targetReady,
  useChosenInstance,
} from './targets';

/** Clone an instance into another one or a new one: /instances/:id/clone, or /clone?source=… */
export function ClonePage() {
  const me = useMe();
  const toast = useToast();
  const { id: fixedSource } = useParams();
  const [params] = useSearchParams();
  const scope = useAdminScope();
  const [sourceId, setSourceId] = useState(fixedSource ?? params.get('source') ?? '');
  const [value, setValue] = useState<TargetValue>(() => linkedTarget(params, me.user.email));
  const [filestore, setFilestore] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [started, setStarted] = useState<{ job: Job; instance: Instance } | null>(null);
  // Once the clone succeeded: how to sign in to the copy (its users are the source's).
  const [cloned, setCloned] = useState(false);

  // The source by id, from the address or the picker; only one the user may clone is taken.
  const fetched = useQuery({ ...instanceQuery(sourceId), enabled: Boolean(sourceId) });
  const source = fetched.data && scope.canFill(fetched.data) ? fetched.data : undefined;
  const choices = targetChoices(scope, {
    organizationId: source?.organizationId ?? null,
    odooVersion: source?.odooVersion ?? null,
    exclude: source?.id ?? null,
  });
  const { projects } = choices;
  // The chosen mode may not fit the source: fall back to what does.
  const mode =
    value.mode === 'existing' && !choices.anyInstance
      ? 'new'
      : value.mode === 'new' && projects.length === 0
        ? 'existing'
        : value.mode;
  const shown: TargetValue = {
    ...value,
    mode,
    project: projects.some((p) => p.id === value.project) ? value.project : (projects[0]?.id ?? ''),
  };
  const chosen = useChosenInstance(shown, choices);
  const target = existingTarget(shown, null, chosen);
  const sourceInfo = useDatabaseInfo(source?.id ?? null);
  const targetInfo = useDatabaseInfo(target?.id ?? null);
  const newProject = projects.find((p) => p.id === shown.project);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!source) return;
    setBusy(true);
    setError(null);
    try {
      const body = { ...targetBody(shown, null, chosen, { copy: true }), filestore };
      const answer = await call(
        api.POST('/api/v1/instances/{id}/clone', { params: { path: { id: source.id } }, body }),
      );
      setStarted(answer);
      setCloned(false);
      scope.reload();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const back = fixedSource ? (
    <Link className="back-link" to={`/instances/${fixedSource}?tab=backups`}>
      <ArrowLeftIcon />
      {source?.name ?? 'Instance'}
    </Link>
  ) : (
    <Link className="back-link" to="/backups">
      <ArrowLeftIcon />
      Backups
    </Link>
  );

  const sourceField = (
    <Field label="Source" hint="The instance whose data is copied: type part of its name.">
      {(props) => (
        <InstancePicker
          {...props}
          value={source?.id ?? ''}
          onChange={(id) => {
            setSourceId(id);
            // Another source may bring another organization or version: the target is chosen again.
            setValue((current) => ({ ...current, instanceId: '', confirm: '' }));
            setError(null);
          }}
          accept={scope.canFill}
          placeholder="Search instances"
        />
      )}
    </Field>
  );

  let body: React.ReactNode;
  if (scope.error) body = <Alert kind="error">{errorMessage(scope.error)}</Alert>;
  else if (scope.loading || fetched.isLoading) body = <Loading />;
  else if (scope.organizations.length === 0)
    body = (
      <Alert kind="info" title="Nothing to clone">
        Cloning needs an instance with data in an organization you administer.
      </Alert>
    );
  else if (sourceId && !source)
    body = (
      <Alert kind="error" title="This instance cannot be cloned now">
        It does not exist, you do not administer its organization, or it is busy (provisioning, restoring or deleting).
      </Alert>
    );
  else if (source)
    body = (
      <>
        <div className="clone-cards">
          <DatabaseCard side="Source" instance={source} info={sourceInfo.data} error={sourceInfo.error} />
          <span className="clone-arrow" aria-hidden="true">
            <ArrowRightIcon width={22} height={22} />
          </span>
          <DatabaseCard
            side="Target"
            instance={target}
            info={target ? targetInfo.data : null}
            error={target ? targetInfo.error : null}
            placeholder={
              shown.mode === 'new' ? (
                <>
                  Created by the clone
                  {newProject ? (
                    <>
                      {' '}
                      in <span className="mono">{newProject.name}</span>
                    </>
                  ) : null}{' '}
                  as a {stageLabel[shown.stage].toLowerCase()} instance
                  {shown.name.trim() ? (
                    <>
                      {' '}
                      named <span className="mono">{shown.name.trim()}</span>
                    </>
                  ) : null}
                  .
                </>
              ) : undefined
            }
          />
        </div>
        {started ? (
          <div className="clone-started">
            <JobProgress
              job={started.job}
              detailed
              label="Clone progress"
              title={
                <>
                  Clone {source.name} into <span className="mono">{started.instance.name}</span>
                </>
              }
              extra={
                <span className="inline-links">
                  <Link to={`/instances/${started.instance.id}`}>Open {started.instance.name}</Link>
                  <button type="button" className="btn btn-ghost btn-small" onClick={() => setStarted(null)}>
                    Clone again
                  </button>
                </span>
              }
              onEnded={(job) => {
                // Refreshes the instances, and with them both databases' facts.
                scope.reload();
                if (job.status === 'succeeded') {
                  setCloned(true);
                  toast.success(`${started.instance.name} now holds a copy of ${source.name}.`);
                }
              }}
            />
            {cloned ? (
              <CopyCredentials instanceId={started.instance.id} sourceStage={stageLabel[source.stage].toLowerCase()} />
            ) : null}
          </div>
        ) : (
          <section className="card wizard-card">
            <form className="form" onSubmit={submit} noValidate>
              {sourceField}
              <Alert kind="info" title={`${source.name} keeps running`}>
                Marina copies it from a database snapshot: its users stay connected and keep working. What they change
                while the clone runs is not in the copy.
              </Alert>
              <TargetFields
                value={shown}
                onChange={(patch) => setValue({ ...shown, ...patch })}
                scope={scope}
                chosen={chosen}
                choices={choices}
                projects={projects}
                error={error}
                verb="replace its data"
                versionNote={`Instances and projects of the same organization on Odoo ${source.odooVersion}.`}
                replaceWarning={(t) =>
                  t.stage === 'production' ? (
                    <>
                      Cloning into production is dangerous: the live data of {t.name} is thrown away and replaced with
                      the copy of {source.name}. Its current data is kept aside as the undo, but whatever its users do
                      after the swap is lost if you swap it back.
                    </>
                  ) : (
                    <>
                      {t.name} keeps serving while the copy of {source.name} loads beside it, then stops for a few
                      seconds for the swap. Its current data is kept aside as the undo: one click swaps it back.
                    </>
                  )
                }
              />
              <CheckboxField
                label="Copy the filestore"
                checked={filestore}
                onChange={setFilestore}
                hint="Attachments, images and generated assets. Without it the copy is quicker, but attachments show as missing."
              />
              <FormError error={error} fields={TARGET_FIELDS} />
              <div className="form-actions">
                <Link className="btn btn-secondary" to={fixedSource ? `/instances/${fixedSource}` : '/backups'}>
                  Cancel
                </Link>
                <button
                  type="submit"
                  className={target ? 'btn btn-danger' : 'btn btn-primary'}
                  disabled={busy || !targetReady(shown, null, chosen)}
                >
                  {busy
                    ? 'Starting…'
                    : target
                      ? `Clone into ${target.name}`
                      : shown.mode === 'new'
                        ? 'Clone into a new instance'
                        : 'Clone'}
                </button>
              </div>
            </form>
          </section>
        )}
      </>
    );
  else
    body = (
      <section className="card wizard-card">
        <form className="form" onSubmit={(e) => e.preventDefault()} noValidate>
          {sourceField}
        </form>
      </section>
    );

  return (
    <>
      {back}
      <PageHeader
        title="Clone an instance"
        subtitle="Copy an instance’s database and filestore into another instance or a new one — production into staging, to try an update on real data."
      />
      {body}
    </>
  );
}
