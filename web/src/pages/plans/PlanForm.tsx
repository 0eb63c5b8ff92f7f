import { type FormEvent, useState } from 'react';
import { ApiError } from '../../api/errors';
import { CheckboxField } from '../../components/ChoiceCard';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { Modal } from '../../components/Modal';
import type { NewPlan } from './api';

const LIMITS = [
  ['maxProduction', 'Production instances'],
  ['maxStaging', 'Staging instances'],
  ['maxDevelopment', 'Development instances'],
  ['maxCpus', 'CPUs per instance'],
  ['maxMemoryMb', 'Memory per instance (MB)'],
  ['maxWorkers', 'Odoo workers per instance'],
  ['storageMb', 'Storage (MB, databases and files)'],
  ['offsiteMb', 'Offsite copies (MB; 0: none)'],
  ['maxCustomDomains', 'Custom domains'],
] as const;
type LimitKey = (typeof LIMITS)[number][0];

const FIELDS = [
  'slug',
  'name',
  'trialDays',
  'uptimeIntervalSeconds',
  'prices',
  'prices.0.amountMinor',
  'prices.0.currency',
] as const;

/** A new plan: limits left empty are unlimited; the price is whole minor units (1990 = 19.90 EUR). */
export function PlanForm({ onSave, onClose }: { onSave(input: NewPlan): Promise<void>; onClose(): void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [isPublic, setPublic] = useState(true);
  const [stagingAllowed, setStagingAllowed] = useState(true);
  const [trialDays, setTrialDays] = useState('14');
  const [uptimeInterval, setUptimeInterval] = useState('');
  const [limits, setLimits] = useState<Record<LimitKey, string>>({
    maxProduction: '',
    maxStaging: '',
    maxDevelopment: '',
    maxCpus: '',
    maxMemoryMb: '',
    maxWorkers: '',
    storageMb: '',
    offsiteMb: '',
    maxCustomDomains: '',
  });
  const [currency, setCurrency] = useState('EUR');
  const [amountMinor, setAmountMinor] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const given = Object.fromEntries(
      Object.entries(limits)
        .filter(([, value]) => value.trim() !== '')
        .map(([key, value]) => [key, Number(value)]),
    );
    try {
      await onSave({
        name,
        slug,
        public: isPublic,
        stagingAllowed,
        trialDays: Number(trialDays || 0),
        uptimeIntervalSeconds: uptimeInterval.trim() === '' ? null : Number(uptimeInterval),
        limits: given,
        prices: amountMinor.trim() === '' ? [] : [{ currency, period: 'month', amountMinor: Number(amountMinor) }],
      });
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const input = (value: string, set: (v: string) => void, extra: { mono?: boolean; inputMode?: 'numeric' } = {}) =>
    function render(props: Record<string, unknown>) {
      return (
        <input
          {...props}
          className={extra.mono ? 'mono' : undefined}
          inputMode={extra.inputMode}
          spellCheck={false}
          autoComplete="off"
          value={value}
          onChange={(e) => set(e.target.value)}
        />
      );
    };

  return (
    <Modal
      title="New plan"
      description="Empty limits are unlimited. Organizations on a plan are held to it at once."
      onClose={onClose}
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Plan">
        <FormError error={error} fields={FIELDS} />
        <Field label="Name" error={fieldErrors.name}>
          {input(name, setName)}
        </Field>
        <Field label="Slug" hint="Lowercase letters, digits and dashes." error={fieldErrors.slug}>
          {input(slug, setSlug, { mono: true })}
        </Field>
        <Field label="Trial days" hint="0: no trial." error={fieldErrors.trialDays}>
          {input(trialDays, setTrialDays, { inputMode: 'numeric' })}
        </Field>
        <Field
          label="Uptime check every (seconds)"
          hint="Production instances of this plan; empty: the platform's interval (10 to 3600)."
          optional
          error={fieldErrors.uptimeIntervalSeconds}
        >
          {input(uptimeInterval, setUptimeInterval, { inputMode: 'numeric' })}
        </Field>
        <CheckboxField label="Offered at sign-up (public)" checked={isPublic} onChange={setPublic} />
        <CheckboxField label="Staging instances allowed" checked={stagingAllowed} onChange={setStagingAllowed} />
        <div className="plan-form-limits">
          {LIMITS.map(([key, label]) => (
            <Field key={key} label={label} optional error={fieldErrors[`limits.${key}`]}>
              {input(limits[key], (v) => setLimits({ ...limits, [key]: v }), { inputMode: 'numeric' })}
            </Field>
          ))}
        </div>
        <div className="plan-form-price">
          <Field label="Currency" hint="ISO 4217, such as EUR." error={fieldErrors['prices.0.currency']}>
            {input(currency, (v) => setCurrency(v.toUpperCase()), { mono: true })}
          </Field>
          <Field
            label="Monthly price (minor units)"
            hint="Whole cents: 1990 is 19.90."
            optional
            error={fieldErrors['prices.0.amountMinor']}
          >
            {input(amountMinor, setAmountMinor, { inputMode: 'numeric' })}
          </Field>
        </div>
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Create plan'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
