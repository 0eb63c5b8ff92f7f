import { type FormEvent, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { limits } from '../../api/limits';
import {
  type BackupFormat,
  type BackupKind,
  backupFormats,
  backupKinds,
  type Destination,
  type Instance,
  type Schedule,
} from '../../api/types';
import { CheckboxField, ChoiceCard } from '../../components/ChoiceCard';
import { CodeField, Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { formatLabel, kindLabel } from '../backups/parts';
import { DestinationCheckbox, fieldErrorsOf } from './parts';
import { RetentionEditor } from './RetentionEditor';
import {
  bodyOf,
  browserTimeZone,
  type Draft,
  initialDraft,
  presetHint,
  presetLabel,
  presets,
  timeZones,
  weekdays,
} from './schedule-form';

const SCHEDULE_FIELDS = ['time', 'weekday', 'day', 'expression', 'timeZone', 'verifyEveryDays'];

/** The schedule's form: when, what, where to copy, how long to keep (with a live preview), test restores. */
export function ScheduleEditor({
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
                  min={limits.verifyEveryDays.min}
                  max={limits.verifyEveryDays.max}
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
