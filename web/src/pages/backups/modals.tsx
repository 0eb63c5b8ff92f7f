import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { instanceQuery } from '../../api/queries';
import {
  type Backup,
  type BackupFormat,
  type BackupKind,
  backupFormats,
  backupKinds,
  type Instance,
  type Job,
} from '../../api/types';
import { Alert } from '../../components/Alert';
import { ChoiceCard } from '../../components/ChoiceCard';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Loading } from '../../components/EmptyState';
import { FormError } from '../../components/FormError';
import { Modal } from '../../components/Modal';
import { formatDateTime } from '../../format';
import { formatBytes } from '../../operate';
import { useMe } from '../../session/SessionContext';
import { DestinationCheckbox, useDestinations } from '../offsite/parts';
import { formatLabel, kindHint, kindLabel } from './parts';
import type { Scope } from './scope';
import {
  existingTarget,
  initialTarget,
  TARGET_FIELDS,
  TargetFields,
  type TargetValue,
  targetBody,
  targetChoices,
  targetReady,
  useChosenInstance,
} from './targets';

const formatHint: Record<BackupFormat, string> = {
  zip: "Odoo's own format (dump.sql, filestore, manifest.json): restorable in Odoo's database manager and on Odoo.sh. Larger and slower to make.",
  native:
    "Marina's fast format: a parallel pg_dump and the filestore in one zstd archive. Quick to make and restore, but only Marina reads it.",
};

/** "Back up now": what to include and in which format. */
export function BackUpModal({
  instance,
  onClose,
  onStarted,
}: {
  instance: Instance;
  onClose(): void;
  onStarted(answer: { backup: Backup; job: Job }): void;
}) {
  const [kind, setKind] = useState<BackupKind>('full');
  const [format, setFormat] = useState<BackupFormat>('zip');
  const [destinationIds, setDestinationIds] = useState<string[]>([]);
  const destinations = useDestinations(instance.organizationId);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { kind, format, ...(destinationIds.length > 0 ? { destinationIds } : {}) };
      const answer = await call(
        api.POST('/api/v1/instances/{id}/backups', { params: { path: { id: instance.id } }, body }),
      );
      onStarted(answer);
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <Modal
      title="Back up now"
      description={`A backup of ${instance.name} while it keeps running; its users are not disturbed.`}
      onClose={onClose}
      width="wide"
    >
      <form className="form" onSubmit={submit} noValidate>
        <fieldset className="choice-group">
          <legend>What to back up</legend>
          <div className="choice-grid choice-grid-3">
            {backupKinds.map((k) => (
              <ChoiceCard
                key={k}
                name="kind"
                value={k}
                checked={kind === k}
                onChange={() => setKind(k)}
                title={kindLabel[k]}
                hint={kindHint[k]}
              />
            ))}
          </div>
        </fieldset>
        <fieldset className="choice-group">
          <legend>Format</legend>
          <div className="choice-grid choice-grid-2">
            {backupFormats.map((f) => (
              <ChoiceCard
                key={f}
                name="format"
                value={f}
                checked={format === f}
                onChange={() => setFormat(f)}
                title={formatLabel[f]}
                hint={formatHint[f]}
              />
            ))}
          </div>
        </fieldset>
        {destinations.data && destinations.data.length > 0 ? (
          <fieldset className="choice-group">
            <legend>Copy offsite</legend>
            <p className="field-hint">Uploaded and verified at each destination checked, once the backup is written.</p>
            <div className="destination-checks destination-checks-grid">
              {destinations.data.map((d) => (
                <DestinationCheckbox
                  key={d.id}
                  destination={d}
                  checked={destinationIds.includes(d.id)}
                  onChange={(on) => setDestinationIds((ids) => (on ? [...ids, d.id] : ids.filter((id) => id !== d.id)))}
                />
              ))}
            </div>
          </fieldset>
        ) : null}
        <FormError error={error} fields={[]} />
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Starting…' : 'Start backup'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export interface FillStarted {
  job: Job;
  instance: Instance;
}

interface RestoreProps {
  backup: Backup;
  scope: Scope;
  onClose(): void;
  onStarted(answer: FillStarted): void;
}

/** Restore a backup: into its own instance (the default), another instance, or a new one. */
export function RestoreModal(props: RestoreProps) {
  const { backup, scope, onClose } = props;
  // Its own instance, by id: gone (404) when it was deleted, and then no choice of its own.
  const own = useQuery({ ...instanceQuery(backup.instanceId ?? ''), enabled: Boolean(backup.instanceId) });
  const self = own.data && scope.canFill(own.data) ? own.data : null;
  return (
    <Modal
      title="Restore backup"
      description={
        <>
          {kindLabel[backup.kind]} {formatLabel[backup.format].toLowerCase()} backup of{' '}
          <span className="mono">{backup.instanceLabel}</span>, {formatDateTime(backup.createdAt)} ·{' '}
          {formatBytes(backup.sizeBytes)} · Odoo {backup.odooVersion}
        </>
      }
      onClose={onClose}
      width="wide"
    >
      {/* The form starts on the backup's own instance: it waits until that one is known. */}
      {scope.loading || own.isLoading ? <Loading /> : <RestoreForm {...props} self={self} />}
    </Modal>
  );
}

function RestoreForm({ backup, scope, self, onClose, onStarted }: RestoreProps & { self: Instance | null }) {
  const me = useMe();
  const choices = targetChoices(scope, {
    organizationId: backup.organizationId,
    odooVersion: backup.odooVersion,
    exclude: backup.instanceId,
  });
  const usableProjects = backup.kind === 'filestore' ? [] : choices.projects;
  const [value, setValue] = useState<TargetValue>(() =>
    initialTarget(self ? 'self' : choices.anyInstance ? 'existing' : 'new', me.user.email),
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // The projects arrive with the scope: a new instance starts in the first fitting one.
  const shown: TargetValue =
    value.mode === 'self' && !self
      ? { ...value, mode: choices.anyInstance ? 'existing' : 'new' }
      : value.mode === 'new' && !value.project && usableProjects[0]
        ? { ...value, project: usableProjects[0].id }
        : value;
  const chosen = useChosenInstance(shown, choices);
  const copy = shown.mode !== 'self' || backup.trigger === 'import';
  const replacing = existingTarget(shown, self, chosen);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = targetBody(shown, self, chosen, { copy });
      const answer = await call(
        api.POST('/api/v1/backups/{id}/restore', { params: { path: { id: backup.id } }, body }),
      );
      onStarted(answer);
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} noValidate>
      <TargetFields
        value={shown}
        onChange={(patch) => setValue({ ...shown, ...patch })}
        scope={scope}
        self={self}
        chosen={chosen}
        choices={choices}
        projects={usableProjects}
        error={error}
        verb="restore into it"
        versionNote={`Instances and projects of the same organization on Odoo ${backup.odooVersion}.`}
        selfHint={self ? `${self.name}: replaced, its current data kept as the undo` : undefined}
        copy={copy}
        replaceWarning={(target) => (
          <>
            {target.name} keeps serving while the backup loads beside it, then stops for a few seconds while the data is
            swapped. Its current data is kept aside as the undo, so nothing is lost: one click on the instance page
            swaps it back.
          </>
        )}
      />
      {shown.mode === 'self' && !copy ? (
        <p className="field-hint">
          Restoring an instance’s own backup brings the same database back as it was; it is not neutralized.
        </p>
      ) : null}
      {backup.kind === 'filestore' ? (
        <Alert kind="info">A filestore-only backup can only go into an existing instance.</Alert>
      ) : null}
      <FormError error={error} fields={TARGET_FIELDS} />
      <div className="form-actions">
        <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button
          type="submit"
          className={replacing ? 'btn btn-danger' : 'btn btn-primary'}
          disabled={busy || !targetReady(shown, self, chosen)}
        >
          {busy
            ? 'Starting…'
            : replacing
              ? `Restore into ${replacing.name}`
              : shown.mode === 'new'
                ? 'Restore into a new instance'
                : 'Restore'}
        </button>
      </div>
    </form>
  );
}

export function DeleteBackupDialog({
  backup,
  onClose,
  onDeleted,
}: {
  backup: Backup;
  onClose(): void;
  onDeleted(): void;
}) {
  return (
    <ConfirmDialog
      title="Delete this backup?"
      confirmLabel="Delete backup"
      onClose={onClose}
      onConfirm={async () => {
        await call(api.DELETE('/api/v1/backups/{id}', { params: { path: { id: backup.id } } }));
        onDeleted();
      }}
    >
      <p>
        The {kindLabel[backup.kind].toLowerCase()} backup of <span className="mono">{backup.instanceLabel}</span> from{' '}
        {formatDateTime(backup.createdAt)} ({formatBytes(backup.sizeBytes)}) and its file are deleted. This cannot be
        undone.
      </p>
    </ConfirmDialog>
  );
}
