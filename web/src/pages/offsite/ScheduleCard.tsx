import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { queryKeys, scheduleQuery } from '../../api/queries';
import type { Backup, BackupRun, Instance, Job } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { Loading } from '../../components/EmptyState';
import { CalendarIcon, PlayIcon } from '../../components/icons';
import { JobProgress } from '../../components/JobProgress';
import { useToast } from '../../components/Toast';
import { formatDateTime, formatRelative } from '../../format';
import { useNow } from '../../live';
import { formatBytes } from '../../operate';
import { formatLabel, kindLabel } from '../backups/parts';
import { useCleanup } from './CleanupButton';
import { useDestinations } from './parts';
import { RetryCopyButton, RunStateBadge } from './RunState';
import { ScheduleEditor } from './ScheduleEditor';
import { browserTimeZone, describePolicy } from './schedule-form';

const nextRunFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'short',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** A time in the schedule's own zone, when it differs from the browser's: "02:00 in Europe/Brussels". */
function inZone(iso: string, timeZone: string): string | null {
  if (timeZone === browserTimeZone()) return null;
  try {
    const time = new Intl.DateTimeFormat(undefined, { timeZone, weekday: 'short', timeStyle: 'short' }).format(
      new Date(iso),
    );
    return `${time} in ${timeZone}`;
  } catch {
    return null;
  }
}

function Fact({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="schedule-fact" data-testid={testId}>
      <dt className="stat-label">{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

/**
 * The instance's backup schedule on its Backups tab: when it runs next, what and where it copies,
 * how long it keeps; edited in place, with a live retention preview; "Run now" with its progress.
 */
export function ScheduleCard({
  instance,
  isAdmin,
  lastRun,
  onStarted,
  onJobEnded,
}: {
  instance: Instance;
  isAdmin: boolean;
  /** The newest scheduled run, for its outcome. */
  lastRun: BackupRun | undefined;
  onStarted(backup: Backup): void;
  onJobEnded(): void;
}) {
  const toast = useToast();
  const now = useNow(30_000);
  const id = instance.id;
  const queryClient = useQueryClient();
  const loaded = useQuery(scheduleQuery(id));
  const scheduleChanged = () => void queryClient.invalidateQueries({ queryKey: queryKeys.schedules.ofInstance(id) });
  const destinations = useDestinations(instance.organizationId);
  const [editing, setEditing] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const [starting, setStarting] = useState(false);
  const cleanup = useCleanup({ instanceId: id, label: instance.name, onEnded: () => onJobEnded() });
  const schedule = loaded.data ?? null;
  const names = new Map((destinations.data ?? []).map((d) => [d.id, d.name]));

  async function runNow() {
    setStarting(true);
    try {
      const answer = await call(api.POST('/api/v1/instances/{id}/schedule/run', { params: { path: { id } } }));
      setJob(answer.job);
      onStarted(answer.backup);
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setStarting(false);
    }
  }

  const badge = !schedule ? (
    <Badge tone="gray">not set up</Badge>
  ) : schedule.enabled ? (
    <Badge tone="green">on</Badge>
  ) : (
    <Badge tone="amber">paused</Badge>
  );

  return (
    <section
      className="card schedule-card"
      aria-label="Backup schedule"
      data-testid="schedule-card"
      data-enabled={schedule?.enabled ?? false}
    >
      <header className="card-header">
        <div className="schedule-title">
          <span className="schedule-icon" aria-hidden="true">
            <CalendarIcon />
          </span>
          <div>
            <h2 className="title-with-badge">Backup schedule {badge}</h2>
            <p className="card-subtitle" data-testid="schedule-description">
              {schedule
                ? capitalized(schedule.description)
                : 'No schedule: backups happen only when someone clicks “Back up now”.'}
            </p>
          </div>
        </div>
        {isAdmin && !editing ? (
          <div className="page-actions">
            {schedule ? cleanup.button : null}
            {schedule ? (
              <button type="button" className="btn btn-secondary" onClick={() => void runNow()} disabled={starting}>
                <PlayIcon />
                {starting ? 'Starting…' : 'Run now'}
              </button>
            ) : null}
            <button type="button" className="btn btn-primary" onClick={() => setEditing(true)}>
              {schedule ? 'Edit schedule' : 'Set up a schedule'}
            </button>
          </div>
        ) : null}
      </header>
      {loaded.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(loaded.error)}</Alert>
        </div>
      ) : null}
      {job || cleanup.progress ? (
        <div className="card-body schedule-jobs">
          {job ? (
            <JobProgress
              key={job.id}
              job={job}
              title="Scheduled backup, run now"
              onEnded={() => {
                scheduleChanged();
                onJobEnded();
              }}
              onDismiss={() => setJob(null)}
            />
          ) : null}
          {cleanup.progress}
        </div>
      ) : null}
      {schedule && schedule.destinationWarnings.length > 0 && !editing ? (
        <div className="card-body schedule-warnings" data-testid="schedule-destination-warning">
          <Alert kind="warning" title="A destination of this schedule failed its connection test">
            {schedule.destinationWarnings.map((w) => (
              <p key={w.destinationId}>
                <strong>{w.name}</strong>
                {w.health.testedAt ? ` (tested ${formatRelative(w.health.testedAt, new Date(now))})` : ''}:{' '}
                {(w.health.error ?? 'the test failed').replace(/\.$/, '')}. Copies sent there will fail until it is
                fixed on the{' '}
                <Link to={`/organizations/${instance.organizationId}/destinations`}>destinations page</Link>.
              </p>
            ))}
          </Alert>
        </div>
      ) : null}
      {editing ? (
        destinations.data || destinations.error ? (
          <ScheduleEditor
            instance={instance}
            schedule={schedule}
            destinations={destinations.data ?? []}
            onCancel={() => setEditing(false)}
            onSaved={(saved) => {
              setEditing(false);
              queryClient.setQueryData(queryKeys.schedules.ofInstance(id), saved);
              scheduleChanged();
              toast.success(saved.enabled ? `Saved: ${saved.description}.` : 'Saved; the schedule is paused.');
            }}
          />
        ) : (
          <Loading />
        )
      ) : schedule ? (
        <dl className="schedule-facts">
          <Fact label="Next run" testId="schedule-next-run">
            {schedule.enabled && schedule.nextRunAt ? (
              <span className="stacked-time">
                <span title={formatDateTime(schedule.nextRunAt)}>
                  {nextRunFormat.format(new Date(schedule.nextRunAt))}
                </span>
                <span className="muted">
                  {formatRelative(schedule.nextRunAt, new Date(now))}
                  {inZone(schedule.nextRunAt, schedule.spec.timeZone)
                    ? ` · ${inZone(schedule.nextRunAt, schedule.spec.timeZone)}`
                    : ''}
                </span>
              </span>
            ) : (
              <span className="muted">paused</span>
            )}
          </Fact>
          <Fact label="Last run" testId="schedule-last-run">
            {schedule.lastRunAt ? (
              <span className="stacked-time">
                <span title={formatDateTime(schedule.lastRunAt)}>
                  {formatRelative(schedule.lastRunAt, new Date(now))}
                  {schedule.lastJobId ? (
                    <>
                      {' · '}
                      <Link to={`/jobs/${schedule.lastJobId}`}>job</Link>
                    </>
                  ) : null}
                </span>
                {schedule.lastRun ? (
                  <span className="last-run-status">
                    <RunStateBadge state={schedule.lastRun.state} title={schedule.lastRun.error} />
                    {lastRun && lastRun.id === schedule.lastRun.backupId && lastRun.status === 'completed' ? (
                      <span className="muted">{formatBytes(lastRun.sizeBytes)}</span>
                    ) : null}
                  </span>
                ) : null}
                {schedule.lastRun?.state === 'partial' ? (
                  <span className="last-run-problem" data-testid="schedule-last-run-problem">
                    <span className="status-detail status-detail-error">
                      Copy to {schedule.lastRun.failedCopies.map((c) => c.destinationName).join(', ')} failed
                    </span>
                    {isAdmin ? <RetryCopyButton backupId={schedule.lastRun.backupId} /> : null}
                  </span>
                ) : null}
                {schedule.lastRun?.state === 'failed' && schedule.lastRun.error ? (
                  <span className="status-detail status-detail-error" title={schedule.lastRun.error}>
                    {schedule.lastRun.error.split('\n')[0]}
                  </span>
                ) : null}
              </span>
            ) : (
              <span className="muted">never</span>
            )}
          </Fact>
          <Fact label="What">
            {kindLabel[schedule.kind]} · {formatLabel[schedule.format]}
          </Fact>
          <Fact label="Copies to" testId="schedule-destinations">
            {schedule.destinationIds.length > 0 ? (
              schedule.destinationIds.map((d) => names.get(d) ?? 'a destination').join(', ')
            ) : (
              <span className="muted">this server only</span>
            )}
          </Fact>
          <Fact label="Keeps">
            <span className="stacked-time">
              <span>{describePolicy(schedule.retention.local)}</span>
              {schedule.destinationIds.map((d) => {
                const policy = schedule.retention.destinations[d];
                return policy && describePolicy(policy) !== describePolicy(schedule.retention.local) ? (
                  <span key={d} className="muted">
                    {names.get(d) ?? 'a destination'}: {describePolicy(policy)}
                  </span>
                ) : null;
              })}
            </span>
          </Fact>
          <Fact label="Test restore">
            {schedule.verifyEveryDays ? (
              <span className="stacked-time">
                <span>every {schedule.verifyEveryDays === 1 ? 'day' : `${schedule.verifyEveryDays} days`}</span>
                {schedule.lastVerifiedAt ? (
                  <span className="muted">last {formatRelative(schedule.lastVerifiedAt, new Date(now))}</span>
                ) : null}
              </span>
            ) : (
              <span className="muted">off</span>
            )}
          </Fact>
        </dl>
      ) : loaded.isFetching ? (
        <Loading />
      ) : null}
      {cleanup.dialog}
    </section>
  );
}
