import { useState } from 'react';
import { api, call } from '../../api/client';
import type { Instance, Job } from '../../api/types';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ConfirmNameField, typedNameMatches } from '../../components/ConfirmNameField';
import '../../styles/instance-dialogs.css';

export type Action = 'start' | 'stop' | 'restart' | 'delete';

export const actionVerb: Record<Action, { label: string; doing: string; done: string }> = {
  start: { label: 'Start', doing: 'Starting', done: 'started' },
  stop: { label: 'Stop', doing: 'Stopping', done: 'stopped' },
  restart: { label: 'Restart', doing: 'Restarting', done: 'restarted' },
  delete: { label: 'Delete', doing: 'Deleting', done: 'deleted' },
};

export const canStart = ['stopped', 'exited', 'missing'];
export const canStop = ['running', 'unhealthy', 'starting', 'restarting'];
export const canRestart = ['running', 'unhealthy', 'exited'];
export const cannotDelete = ['provisioning', 'deleting', 'restoring'];

/** Asks before starting, stopping, restarting or deleting an instance; production needs its name typed. */
export function ActionDialog({
  action,
  instance,
  onClose,
  onStarted,
}: {
  action: Action;
  instance: Instance;
  onClose(): void;
  onStarted(job: Job): void;
}) {
  const [typed, setTyped] = useState('');
  const production = instance.stage === 'production';
  const needsName = production && (action === 'stop' || action === 'delete');
  const path = { id: instance.id };

  async function run() {
    const confirm = needsName ? typed.trim() : undefined;
    let answer: { job: Job };
    if (action === 'delete') {
      answer = await call(
        api.DELETE('/api/v1/instances/{id}', { params: { path, query: confirm ? { confirm } : {} } }),
      );
    } else if (action === 'stop') {
      answer = await call(
        api.POST('/api/v1/instances/{id}/stop', { params: { path }, body: confirm ? { confirm } : {} }),
      );
    } else if (action === 'start') {
      answer = await call(api.POST('/api/v1/instances/{id}/start', { params: { path }, body: {} }));
    } else {
      answer = await call(api.POST('/api/v1/instances/{id}/restart', { params: { path }, body: {} }));
    }
    onStarted(answer.job);
  }

  const title = `${actionVerb[action].label} ${instance.name}?`;
  const text: Record<Action, string> = {
    start: 'Marina starts the Odoo container and waits until Odoo answers.',
    stop: 'Odoo stops: users cannot work in this instance until it is started again. Nothing is deleted.',
    restart: 'Odoo restarts: users are disconnected for a few seconds.',
    delete: 'This removes the container, the filestore, the database and its role.',
  };
  return (
    <ConfirmDialog
      title={title}
      confirmLabel={`${actionVerb[action].label} instance`}
      tone={action === 'delete' || action === 'stop' ? 'danger' : 'primary'}
      confirmDisabled={needsName && !typedNameMatches(typed, instance.name)}
      onClose={onClose}
      onConfirm={run}
    >
      <p>{text[action]}</p>
      {action === 'delete' ? (
        // What the delete job's first step does (the server answers the same in `safetyBackup`).
        <p className="safety-backup-note" data-testid="safety-backup-note">
          First Marina backs up the database and the filestore. It keeps that backup{' '}
          <strong>on the Marina server, in its local backup storage, until someone deletes it</strong> (retention only
          removes scheduled backups): you can restore it as a new instance with{' '}
          <strong>Restore deleted instance</strong> under the instance list, or from Backups.
        </p>
      ) : null}
      {needsName ? <ConfirmNameField id="confirm-name" name={instance.name} value={typed} onChange={setTyped} /> : null}
    </ConfirmDialog>
  );
}
