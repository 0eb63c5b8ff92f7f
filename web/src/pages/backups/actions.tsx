import { type QueryKey, type UseQueryResult, useMutation, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useCallback, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { queryKeys } from '../../api/queries';
import type { Backup, Instance, Job } from '../../api/types';
import { JobProgress } from '../../components/JobProgress';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../format';
import { BackUpModal, DeleteBackupDialog, type FillStarted, RestoreModal } from './modals';
import { formatLabel, isBackupMoving, kindLabel } from './parts';
import type { Scope } from './scope';

const REFRESH_MS = 5000;

/** For a list of backups: polls while one of them is still being made, copied or verified. */
export function whileBackupsMove(query: { state: { data: Backup[] | undefined } }): number | false {
  return (query.state.data ?? []).some(isBackupMoving) ? REFRESH_MS : false;
}

interface Started {
  job: Job;
  title: ReactNode;
  extra?: ReactNode;
  /** The job has ended (its card may then give way to a newer one). */
  over?: boolean;
}

/** At most this many job cards at once: a new one pushes out the oldest finished one. */
export const MAX_JOB_CARDS = 3;
/** A card whose job succeeded goes away by itself after this long; a failed one stays until dismissed. */
export const SUCCESS_CARD_MS = 8000;

/** Newest first, one card per job, capped: finished cards go first, then the oldest. */
export function withCard(cards: readonly Started[], card: Started, max = MAX_JOB_CARDS): Started[] {
  const next = [card, ...cards.filter((c) => c.job.id !== card.job.id)];
  while (next.length > max) {
    const oldestOver = next.findLastIndex((c) => c.over);
    next.splice(oldestOver >= 0 ? oldestOver : next.length - 1, 1);
  }
  return next;
}

type Dialog =
  | { type: 'backup'; instance: Instance }
  | { type: 'restore'; backup: Backup }
  | { type: 'delete'; backup: Backup };

/**
 * The list of backups a page shows, with everything done to them: pin, restore, delete, back up
 * now — and the progress cards of the jobs started here. The list is kept fresh while backups run.
 */
export function useBackupActions(
  list: UseQueryResult<Backup[]>,
  /** The key of `list`, whose cached rows change at once when a backup is pinned, added or deleted. */
  listKey: QueryKey,
  scope: Scope,
  onChanged?: () => void,
) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const rows = list.data;
  const [started, setStarted] = useState<Started[]>([]);
  // Backups whose .dump is being prepared here, by id: downloaded when their job succeeds.
  const [preparing] = useState(() => new Map<string, Backup>());
  const [dialog, setDialog] = useState<Dialog | null>(null);

  const setRows = useCallback(
    (change: (rows: Backup[] | undefined) => Backup[] | undefined) =>
      queryClient.setQueryData<Backup[]>(listKey, change),
    [queryClient, listKey],
  );
  const refresh = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: queryKeys.backups.all });
    void queryClient.invalidateQueries({ queryKey: queryKeys.backupRuns.all });
    onChanged?.();
  }, [queryClient, onChanged]);

  // Pinning shows at once; Marina's answer (or the old value, on failure) settles it.
  const pinning = useMutation({
    mutationFn: ({ backup, pinned }: { backup: Backup; pinned: boolean }) =>
      call(api.POST('/api/v1/backups/{id}/pin', { params: { path: { id: backup.id } }, body: { pinned } })),
    onMutate: ({ backup, pinned }) => {
      setRows((current) => current?.map((b) => (b.id === backup.id ? { ...b, pinned } : b)));
    },
    onSuccess: (answer, { backup }) => {
      setRows((current) => current?.map((b) => (b.id === backup.id ? answer.backup : b)));
      void queryClient.invalidateQueries({ queryKey: queryKeys.backups.all, refetchType: 'none' });
    },
    onError: (error, { backup }) => {
      setRows((current) => current?.map((b) => (b.id === backup.id ? { ...b, pinned: backup.pinned } : b)));
      toast.error(errorMessage(error));
    },
  });

  async function pin(backup: Backup, pinned: boolean) {
    try {
      await pinning.mutateAsync({ backup, pinned });
    } catch {
      // onError put the old value back and told the user.
    }
  }

  function follow(item: Started) {
    setStarted((all) => withCard(all, item));
  }

  const dismissCard = useCallback((jobId: string) => setStarted((all) => all.filter((s) => s.job.id !== jobId)), []);

  // The card says how the job ended, so no toast repeats it: one banner per job. A success
  // leaves on its own; a failure stays, with its error, until dismissed.
  function jobEnded(job: Job) {
    refresh();
    scope.reload();
    setStarted((all) => all.map((s) => (s.job.id === job.id ? { ...s, over: true } : s)));
    if (job.status === 'succeeded') window.setTimeout(() => dismissCard(job.id), SUCCESS_CARD_MS);
    // A .dump prepared here downloads as soon as it is ready.
    const dumped = job.kind === 'backup.export_dump' && job.status === 'succeeded' ? job.target?.id : undefined;
    const backup = dumped ? preparing.get(dumped) : undefined;
    if (backup) {
      preparing.delete(backup.id);
      saveDump(backup);
    }
  }

  /** "Download .dump": prepared on the server first (a job with its card) unless it is ready. */
  async function downloadDump(backup: Backup) {
    try {
      const answer = await call(api.POST('/api/v1/backups/{id}/dump', { params: { path: { id: backup.id } } }));
      if (answer.ready) return saveDump(backup);
      preparing.set(backup.id, backup);
      follow({ job: answer.job, title: `.dump of the backup of ${formatDateTime(backup.createdAt)}` });
    } catch (error) {
      toast.error(errorMessage(error));
    }
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
            onDismiss={() => dismissCard(item.job.id)}
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
    downloadDump,
    added,
  };
}

/** Starts the browser's download of a prepared .dump (the server sends it as an attachment). */
function saveDump(backup: Backup): void {
  const link = document.createElement('a');
  link.href = `/api/v1/backups/${backup.id}/download?format=dump`;
  link.download = backup.downloadName.replace(/\.(zip|tar\.zst)$/, '.dump');
  document.body.append(link);
  link.click();
  link.remove();
}
