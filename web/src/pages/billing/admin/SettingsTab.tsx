import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, errorMessage } from '../../../api/errors';
import { Alert } from '../../../components/Alert';
import { Loading } from '../../../components/EmptyState';
import { Field } from '../../../components/Field';
import { FormError } from '../../../components/FormError';
import { useToast } from '../../../components/Toast';
import { type BillingSettings, billingAdminApi, billingKeys, settingsQuery } from '../api';
import { draftOf, fieldErrorIn, namesShownInline, type PartyDraft, PartyFields, partyOf } from '../PartyFields';

interface Draft {
  seller: PartyDraft;
  dueDays: string;
  reminderDays: string;
  suspendAfterDays: string;
  footer: string;
  paymentTimeoutMinutes: string;
}

const OTHER_FIELDS = ['dueDays', 'reminderDays', 'suspendAfterDays', 'footer', 'paymentTimeoutMinutes'];

const draftFrom = (s: BillingSettings): Draft => ({
  seller: draftOf(s.seller),
  dueDays: String(s.dueDays),
  reminderDays: s.reminderDays.join(', '),
  suspendAfterDays: String(s.suspendAfterDays),
  footer: s.footer,
  paymentTimeoutMinutes: String(s.paymentTimeoutMinutes),
});

/** A whole number as typed, or NaN (which the API refuses in its own words). */
const whole = (text: string) => (/^\d{1,6}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN);

/** "1, 7, 14" → [1, 7, 14]; a word that is not a whole number makes it invalid (the API says why). */
function daysList(text: string): number[] | undefined {
  const parts = text.split(/[\s,;]+/).filter((p) => p !== '');
  const days = parts.map(whole);
  return days.some(Number.isNaN) ? undefined : days;
}

function NumberField({
  label,
  hint,
  value,
  onChange,
  error,
  min,
  max,
}: {
  label: string;
  hint: string;
  value: string;
  onChange(value: string): void;
  error: string | undefined;
  min: number;
  max: number;
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(props) => (
        <input {...props} type="number" min={min} max={max} value={value} onChange={(e) => onChange(e.target.value)} />
      )}
    </Field>
  );
}

/** The seller on every invoice, when invoices fall due, the dunning steps and Paynow's patience. */
export function SettingsTab() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const loaded = useQuery(settingsQuery());
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (loaded.data) setDraft(draftFrom(loaded.data));
  }, [loaded.data]);

  if (loaded.error) return <Alert kind="error">{errorMessage(loaded.error)}</Alert>;
  if (!draft) return <Loading />;
  const d = draft;
  const set = (changes: Partial<Draft>) => setDraft({ ...d, ...changes });
  const errors = error instanceof ApiError ? error.fieldErrors : {};
  const sellerError = fieldErrorIn(error, ['seller.']);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const reminderDays = daysList(d.reminderDays);
    if (!reminderDays) {
      const issue = { field: 'reminderDays', message: 'Whole days after the due date, separated by commas: 1, 7, 14.' };
      setError(new ApiError(400, 'MARINA_E_VALIDATION', issue.message, { issues: [issue] }));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { settings } = await billingAdminApi.setSettings({
        seller: partyOf(d.seller),
        dueDays: whole(d.dueDays),
        reminderDays,
        suspendAfterDays: whole(d.suspendAfterDays),
        footer: d.footer,
        paymentTimeoutMinutes: whole(d.paymentTimeoutMinutes),
      });
      queryClient.setQueryData(billingKeys.settings, settings);
      toast.success('The billing settings are saved.');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form billing-settings" onSubmit={submit} noValidate aria-label="Billing settings">
      <FormError error={error} fields={namesShownInline(error, ['seller.'], OTHER_FIELDS)} />
      <section className="card" aria-label="Seller">
        <header className="card-header">
          <div>
            <h2>Seller</h2>
            <p className="card-subtitle">Who sells: printed at the top of every invoice issued from now on.</p>
          </div>
        </header>
        <div className="card-body billing-form">
          <PartyFields
            draft={d.seller}
            onChange={(seller) => set({ seller })}
            errorOf={sellerError}
            nameLabel="Seller name"
          />
        </div>
      </section>
      <section className="card" aria-label="Payment terms">
        <header className="card-header">
          <div>
            <h2>Payment terms and dunning</h2>
            <p className="card-subtitle">
              An unpaid invoice makes the subscription past due on its due date; reminders follow, then the organization
              is suspended until it pays.
            </p>
          </div>
        </header>
        <div className="card-body billing-form form">
          <div className="form-grid">
            <NumberField
              label="Due after (days)"
              hint="From the invoice’s date: 0 to 365."
              value={d.dueDays}
              onChange={(dueDays) => set({ dueDays })}
              error={errors.dueDays}
              min={0}
              max={365}
            />
            <Field
              label="Reminders (days after due)"
              hint="Up to 10, separated by commas: 1, 7, 14."
              error={errors.reminderDays}
            >
              {(props) => (
                <input
                  {...props}
                  inputMode="numeric"
                  value={d.reminderDays}
                  onChange={(e) => set({ reminderDays: e.target.value })}
                />
              )}
            </Field>
            <NumberField
              label="Suspend after (days after due)"
              hint="After the last reminder: 1 to 365."
              value={d.suspendAfterDays}
              onChange={(suspendAfterDays) => set({ suspendAfterDays })}
              error={errors.suspendAfterDays}
              min={1}
              max={365}
            />
            <NumberField
              label="Paynow payment timeout (minutes)"
              hint="A wallet or Paynow payment not settled by then is given up: 5 to 10080."
              value={d.paymentTimeoutMinutes}
              onChange={(paymentTimeoutMinutes) => set({ paymentTimeoutMinutes })}
              error={errors.paymentTimeoutMinutes}
              min={5}
              max={10080}
            />
          </div>
          <Field
            label="Invoice footer"
            hint="Terms, bank details for a transfer: printed on every invoice."
            optional
            error={errors.footer}
          >
            {(props) => (
              <textarea
                {...props}
                rows={3}
                maxLength={2000}
                value={d.footer}
                onChange={(e) => set({ footer: e.target.value })}
              />
            )}
          </Field>
        </div>
      </section>
      <div className="form-actions form-actions-start">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save settings'}
        </button>
      </div>
    </form>
  );
}
