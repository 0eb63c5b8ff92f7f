import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import type { Backup, Instance, Job } from '../../api/types';
import { JobProgress } from '../../components/JobProgress';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../format';
import { useInterval } from '../../live';
import { jobKindLabel } from '../../operate';
import type { Loaded } from '../../useLoader';
import { BackUpModal, DeleteBackupDialog, type FillStarted, RestoreModal } from './modals';
import { formatLabel, isBackupMoving, kindLabel } from './parts';
import type { Scope } from './scope';

const REFRESH_MS = 5000;

interface Started {
  job: Job;
  title: ReactNode;
  extra?: ReactNode;
}

type Dialog =
  | { type: 'backup'; instance: Instance }
  | { type: 'restore'; backup: Backup }
  | { type: 'delete'; backup: Backup };

/**
 * The list of backups a page shows, with everything done to them: pin, restore, delete, back up
 * now — and the progress cards of the jobs started here. The list is kept fresh while backups run.
 */
export function useBackupActions(list: Loaded<Backup[]>, scope: Scope, onChanged?: () => void) {
  const toast = useToast();
  const [rows, setRows] = useState<Backup[] | undefined>(undefined);
  const [started, setStarted] = useState<Started[]>([]);
  const [dialog, setDialog] = useState<Dialog | null>(null);

  useEffect(() => {
    if (list.data) setRows(list.data);
  }, [list.data]);

  const reload = list.reload;
  const refresh = useCallback(() => {
    void reload();
    onChanged?.();
  }, [reload, onChanged]);
  useInterval(() => void reload(), REFRESH_MS, (rows ?? []).some(isBackupMoving));

  async function pin(backup: Backup, pinned: boolean) {
    setRows((current) => current?.map((b) => (b.id === backup.id ? { ...b, pinned } : b)));
    try {
      const answer = await call(
        api.POST('/api/v1/backups/{id}/pin', { params: { path: { id: backup.id } }, body: { pinned } }),
      );
      setRows((current) => current?.map((b) => (b.id === backup.id ? answer.backup : b)));
    } catch (error) {
      setRows((current) => current?.map((b) => (b.id === backup.id ? { ...b, pinned: backup.pinned } : b)));
      toast.error(errorMessage(error));
    }
  }

  function follow(item: Started) {
    setStarted((all) => [item, ...all.filter((s) => s.job.id !== item.job.id)]);
  }

  function jobEnded(job: Job) {
    refresh();
    scope.reload();
    if (job.status === 'succeeded') toast.success(`${jobKindLabel(job.kind)} finished.`);
    else if (job.status === 'failed')
      toast.error(`${jobKindLabel(job.kind)} failed: ${job.error?.message.split('\n')[0] ?? 'see the job'}`);
  }

  async function verify(backup: Backup) {
    try {
      const { job } = await call(api.POST('/api/v1/backups/{id}/verify', { params: { path: { id: backup.id } } }));
      follow({ job, title: `Test restore of the backup of ${formatDateTime(backup.createdAt)}` });
    } catch (error) {
      toast.error(errorMessage(error));
    }
  }

  /** A backup started elsewhere on the page (a schedule's "Run now"): listed at once. */
  function added(backup: Backup) {
    setRows((current) => [backup, ...(current ?? []).filter((b) => b.id !== backup.id)]);
  }

  function restored({ job, instance }: FillStarted, backup: Backup) {
    follow({
      job,
      title: (
        <>
          Restore into <span className="mono">{instance.name}</span>
        </>
      ),
      extra:
        instance.id !== backup.instanceId ? (
          <Link to={`/instances/${instance.id}`}>Open {instance.name}</Link>
        ) : undefined,
    });
    scope.reload();
  }

  const progress =
    started.length > 0 ? (
      <div className="started-jobs">
        {started.map((item) => (
          <JobProgress
            key={item.job.id}
            job={item.job}
            title={item.title}
            extra={item.extra}
            onEnded={jobEnded}
            onDismiss={() => setStarted((all) => all.filter((s) => s.job.id !== item.job.id))}
          />
        ))}
      </div>
    ) : null;

  const dialogs =
    dialog?.type === 'backup' ? (
      <BackUpModal
        instance={dialog.instance}
        onClose={() => setDialog(null)}
        onStarted={({ backup, job }) => {
          setRows((current) => [backup, ...(current ?? []).filter((b) => b.id !== backup.id)]);
          follow({ job, title: `${kindLabel[backup.kind]} backup · ${formatLabel[backup.format]}` });
        }}
      />
    ) : dialog?.type === 'restore' ? (
      <RestoreModal
        backup={dialog.backup}
        scope={scope}
        onClose={() => setDialog(null)}
        onStarted={(answer) => restored(answer, dialog.backup)}
      />
    ) : dialog?.type === 'delete' ? (
      <DeleteBackupDialog
        backup={dialog.backup}
        onClose={() => setDialog(null)}
        onDeleted={() => {
          setRows((current) => current?.filter((b) => b.id !== dialog.backup.id));
          toast.success('The backup was deleted.');
          refresh();
        }}
      />
    ) : null;

  return {
    rows,
    pin,
    refresh,
    progress,
    dialogs,
    backUp: (instance: Instance) => setDialog({ type: 'backup', instance }),
    restore: (backup: Backup) => setDialog({ type: 'restore', backup }),
    remove: (backup: Backup) => setDialog({ type: 'delete', backup }),
    verify,
    added,
  };
}
