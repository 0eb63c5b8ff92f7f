import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { useToast } from '../../components/Toast';
import { type AlertRule, alertKeys, alertsApi, rulesQuery } from './api';

const REPEAT = { min: 10, max: 7 * 24 * 60 };

/** A whole number field with its unit after it ("90 %", "10 min"). */
function NumberField({
  label,
  unit,
  min,
  max,
  value,
  onChange,
  error,
  hint,
}: {
  label: string;
  unit: string;
  min: number;
  max: number;
  value: string;
  onChange(value: string): void;
  error?: string | undefined;
  hint?: string;
}) {
  return (
    <Field label={label} error={error} hint={hint ?? `${min} to ${max}`}>
      {(props) => (
        <span className="unit-input">
          <input
            {...props}
            type="number"
            inputMode="numeric"
            step={1}
            min={min}
            max={max}
            value={value}
            onChange={(e) => onChange(e.target.value)}
          />
          {unit ? <span className="unit-input-unit">{unit}</span> : null}
        </span>
      )}
    </Field>
  );
}

type Draft = { repeat: string; settings: Record<string, string> };

const draftOf = (rule: AlertRule): Draft => ({
  repeat: String(rule.repeatMinutes),
  settings: Object.fromEntries(rule.fields.map((f) => [f.name, String(rule.settings[f.name] ?? f.default)])),
});

const sameDraft = (a: Draft, b: Draft) =>
  a.repeat === b.repeat && Object.keys(b.settings).every((name) => a.settings[name] === b.settings[name]);

/** One rule: on or off at once; its numbers and repeat interval saved with its own button. */
function RuleRow({ organizationId, rule, onSaved }: { organizationId: string; rule: AlertRule; onSaved(): void }) {
  const toast = useToast();
  const [draft, setDraft] = useState<Draft>(() => draftOf(rule));
  const [busy, setBusy] = useState(false);
  const [switching, setSwitching] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const dirty = !sameDraft(draft, draftOf(rule));
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const fieldNames = ['enabled', 'repeatMinutes', ...rule.fields.map((f) => `settings.${f.name}`)];

  async function toggle() {
    setSwitching(true);
    setError(null);
    try {
      const saved = await alertsApi.setRule(organizationId, rule.rule, { enabled: !rule.enabled });
      toast.success(`${rule.title}: ${saved.rule.enabled ? 'on' : 'off'}.`);
      onSaved();
    } catch (caught) {
      setError(caught);
    } finally {
      setSwitching(false);
    }
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = await alertsApi.setRule(organizationId, rule.rule, {
        repeatMinutes: Number(draft.repeat),
        ...(rule.fields.length
          ? { settings: Object.fromEntries(rule.fields.map((f) => [f.name, Number(draft.settings[f.name])])) }
          : {}),
      });
      setDraft(draftOf(saved.rule));
      toast.success(`${rule.title}: saved.`);
      onSaved();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className={rule.enabled ? 'rule-row' : 'rule-row rule-off'} data-rule={rule.rule}>
      <form onSubmit={save} noValidate aria-label={rule.title}>
        <div className="rule-head">
          <button
            type="button"
            role="switch"
            aria-checked={rule.enabled}
            aria-label={`${rule.title} enabled`}
            data-permission="alerts.manage"
            className={`switch${rule.enabled ? ' switch-on' : ''}`}
            disabled={switching}
            onClick={() => void toggle()}
          >
            <span className="switch-thumb" aria-hidden="true" />
          </button>
          <div className="rule-text">
            <h3 className="rule-title">{rule.title}</h3>
            <p className="muted">{rule.description}</p>
          </div>
        </div>
        <div className="rule-fields">
          {rule.fields.map((f) => (
            <NumberField
              key={f.name}
              label={f.label}
              unit={f.unit}
              min={f.min}
              max={f.max}
              hint={`${f.min} to ${f.max}; default ${f.default}`}
              value={draft.settings[f.name] ?? ''}
              onChange={(value) => setDraft((d) => ({ ...d, settings: { ...d.settings, [f.name]: value } }))}
              error={fieldErrors[`settings.${f.name}`]}
            />
          ))}
          <NumberField
            label="Repeat every"
            unit="min"
            min={REPEAT.min}
            max={REPEAT.max}
            hint="While it still fires"
            value={draft.repeat}
            onChange={(repeat) => setDraft((d) => ({ ...d, repeat }))}
            error={fieldErrors.repeatMinutes}
          />
        </div>
        <div className="rule-save">
          <button type="submit" className="btn btn-secondary" data-permission="alerts.manage" disabled={busy || !dirty}>
            {busy ? 'Saving…' : 'Save'}
            <span className="visually-hidden"> {rule.title}</span>
          </button>
        </div>
        <FormError error={error} fields={fieldNames} />
      </form>
    </li>
  );
}

/** The organization's rules: what is watched, its thresholds, and how often a firing alert repeats. */
export function RulesSection({ organizationId }: { organizationId: string }) {
  const queryClient = useQueryClient();
  const rules = useQuery(rulesQuery(organizationId));
  return (
    <section className="card card-flush alerts-card" aria-label="Alert rules">
      <header className="card-header">
        <div>
          <h2>Rules</h2>
          <p className="card-subtitle">What Marina watches for this organization. All are on by default.</p>
        </div>
      </header>
      {rules.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(rules.error)}</Alert>
        </div>
      ) : null}
      {rules.isPending ? <Loading /> : null}
      {rules.data ? (
        <ul className="rule-list">
          {rules.data.map((rule) => (
            <RuleRow
              key={rule.rule}
              organizationId={organizationId}
              rule={rule}
              onSaved={() => void queryClient.invalidateQueries({ queryKey: alertKeys.rules(organizationId) })}
            />
          ))}
        </ul>
      ) : null}
    </section>
  );
}
