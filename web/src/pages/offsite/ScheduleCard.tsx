import { type FormEvent, type ReactNode, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import {
  type Backup,
  type BackupFormat,
  type BackupKind,
  type BackupRun,
  backupFormats,
  backupKinds,
  type Destination,
  type Instance,
  type Job,
  type Schedule,
} from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { CheckboxField, ChoiceCard } from '../../components/ChoiceCard';
import { Loading } from '../../components/EmptyState';
import { CodeField, Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { CalendarIcon, PlayIcon } from '../../components/icons';
import { JobProgress } from '../../components/JobProgress';
import { BackupStatusBadge } from '../../components/StatusBadges';
import { useToast } from '../../components/Toast';
import { formatDateTime, formatRelative } from '../../format';
import { useNow } from '../../live';
import { formatBytes } from '../../operate';
import { useLoader } from '../../useLoader';
import { formatLabel, kindLabel } from '../backups/parts';
import { useCleanup } from './CleanupButton';
import { DestinationCheckbox, fieldErrorsOf, useDestinations } from './parts';
import { RetentionEditor } from './RetentionEditor';
import {
  bodyOf,
  browserTimeZone,
  type Draft,
  describePolicy,
  initialDraft,
  presetHint,
  presetLabel,
  presets,
  timeZones,
  weekdays,
} from './schedule-form';

const SCHEDULE_FIELDS = ['time', 'weekday', 'day', 'expression', 'timeZone', 'verifyEveryDays'];

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

function ScheduleEditor({
  instance,
  schedule,
  destinations,
  onCancel,
  onSaved,
}: {
  instance: Instance;
  schedule: Schedule | null;
  destinations: Destination[];
  onCancel(): void;
  onSaved(schedule: Schedule): void;
}) {
  const [draft, setDraft] = useState<Draft>(() => initialDraft(schedule));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [zones] = useState(() => timeZones(draft.timeZone));
  const errors = fieldErrorsOf(error);
  const patch = (p: Partial<Draft>) => setDraft((d) => ({ ...d, ...p }));
  const timed = draft.preset !== 'cron';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await call(
        api.PUT('/api/v1/instances/{id}/schedule', { params: { path: { id: instance.id } }, body: bodyOf(draft) }),
      );
      onSaved(answer.schedule);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  function toggleDestination(id: string, on: boolean) {
    const ids = on ? [...draft.destinationIds, id] : draft.destinationIds.filter((d) => d !== id);
    const { [id]: _, ...own } = draft.own;
    patch({ destinationIds: ids, own: on ? draft.own : own });
  }

  return (
    <form className="schedule-form" onSubmit={submit} noValidate aria-label="Edit the backup schedule">
      <div className="schedule-section">
        <div className="schedule-section-head">
          <h3>When</h3>
        </div>
        <div className="form">
          <div className="choice-grid choice-grid-4" role="radiogroup" aria-label="Repeat">
            {presets.map((p) => (
              <ChoiceCard
                key={p}
                name="schedule-preset"
                value={p}
                checked={draft.preset === p}
                onChange={() => patch({ preset: p })}
                title={presetLabel[p]}
                hint={presetHint[p]}
                className="choice-compact"
              />
            ))}
          </div>
          <div className="schedule-when">
            {draft.preset === 'weekly' ? (
              <Field label="Day" error={errors.weekday}>
                {(props) => (
                  <select {...props} value={draft.weekday} onChange={(e) => patch({ weekday: Number(e.target.value) })}>
                    {weekdays.map((name, i) => (
                      <option key={name} value={i + 1}>
                        {name}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            ) : null}
            {draft.preset === 'monthly' ? (
              <Field label="Day of the month" error={errors.day}>
                {(props) => (
                  <select {...props} value={draft.day} onChange={(e) => patch({ day: Number(e.target.value) })}>
                    {Array.from({ length: 31 }, (_, i) => i + 1).map((day) => (
                      <option key={day} value={day}>
                        {day}
                        {day > 28 ? ' (or the last day)' : ''}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            ) : null}
            {timed ? (
              <Field label="Time" error={errors.time}>
                {(props) => (
                  <input
                    {...props}
                    type="time"
                    required
                    value={draft.time}
                    onChange={(e) => patch({ time: e.target.value })}
                  />
                )}
              </Field>
            ) : (
              <CodeField
                label="Cron expression"
                hint="minute hour day-of-month month day-of-week, e.g. 30 1 * * 1-5 (at least 15 minutes apart)"
                error={errors.expression}
                value={draft.expression}
                onChange={(expression) => patch({ expression })}
              />
            )}
            <Field label="Time zone" error={errors.timeZone}>
              {(props) => (
                <select {...props} value={draft.timeZone} onChange={(e) => patch({ timeZone: e.target.value })}>
                  {zones.map((zone) => (
                    <option key={zone} value={zone}>
                      {zone}
                      {zone === browserTimeZone() ? ' (yours)' : ''}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          </div>
          <CheckboxField
            label="Run on this schedule"
            hint="Unchecked, the schedule is kept but paused; “Run now” still works."
            checked={draft.enabled}
            onChange={(enabled) => patch({ enabled })}
          />
        </div>
      </div>
      <div className="schedule-section">
        <div className="schedule-section-head">
          <h3>What</h3>
        </div>
        <div className="form-grid schedule-what">
          <Field label="Backup kind">
            {(props) => (
              <select {...props} value={draft.kind} onChange={(e) => patch({ kind: e.target.value as BackupKind })}>
                {backupKinds.map((k) => (
                  <option key={k} value={k}>
                    {kindLabel[k]}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Format">
            {(props) => (
              <select
                {...props}
                value={draft.format}
                onChange={(e) => patch({ format: e.target.value as BackupFormat })}
              >
                {backupFormats.map((f) => (
                  <option key={f} value={f}>
                    {formatLabel[f]}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
      </div>
      <div className="schedule-section">
        <div className="schedule-section-head">
          <h3>Offsite copies</h3>
          <p className="field-hint">Each backup is uploaded, read back and verified at every destination checked.</p>
        </div>
        <fieldset className="destination-checks">
          <legend className="visually-hidden">Copy to</legend>
          {destinations.length === 0 ? (
            <p className="muted">
              No destinations yet. <Link to={`/destinations`}>Add an S3 bucket or an SFTP server</Link> to keep copies
              away from this server.
            </p>
          ) : (
            destinations.map((d) => (
              <DestinationCheckbox
                key={d.id}
                destination={d}
                checked={draft.destinationIds.includes(d.id)}
                onChange={(on) => toggleDestination(d.id, on)}
              />
            ))
          )}
        </fieldset>
      </div>
      <div className="schedule-section">
        <div className="schedule-section-head">
          <h3>Retention</h3>
          <p className="field-hint">How many scheduled backups to keep, by age. The preview updates as you type.</p>
        </div>
        <RetentionEditor instanceId={instance.id} draft={draft} destinations={destinations} onChange={patch} />
      </div>
      <div className="schedule-section">
        <div className="schedule-section-head">
          <h3>Test restores</h3>
        </div>
        <div className="verify-row">
          <CheckboxField
            label="Test-restore the newest backup regularly"
            hint="Loads it into a throwaway database and checks Odoo’s modules are there; the result shows on the backup."
            checked={draft.verify}
            onChange={(verify) => patch({ verify })}
          />
          {draft.verify ? (
            <Field label="Every (days)" error={errors.verifyEveryDays}>
              {(props) => (
                <input
                  {...props}
                  type="number"
                  min={1}
                  max={90}
                  className="days-input"
                  value={draft.verifyDays}
                  onChange={(e) => patch({ verifyDays: e.target.value })}
                />
              )}
            </Field>
          ) : null}
        </div>
      </div>
      <div className="schedule-section schedule-actions">
        <FormError error={error} fields={SCHEDULE_FIELDS} />
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onCancel} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save schedule'}
          </button>
        </div>
      </div>
    </form>
  );
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
  const loaded = useLoader(
    async () => (await call(api.GET('/api/v1/instances/{id}/schedule', { params: { path: { id } } }))).schedule,
    `schedule:${id}`,
  );
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
                void loaded.reload();
                onJobEnded();
              }}
              onDismiss={() => setJob(null)}
            />
          ) : null}
          {cleanup.progress}
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
              void loaded.reload();
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
                {lastRun ? (
                  <span className="last-run-status">
                    <BackupStatusBadge backup={lastRun} />
                    {lastRun.status === 'completed' ? (
                      <span className="muted">{formatBytes(lastRun.sizeBytes)}</span>
                    ) : null}
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
      ) : loaded.loading ? (
        <Loading />
      ) : null}
      {cleanup.dialog}
    </section>
  );
}
