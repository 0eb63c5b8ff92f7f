import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { CheckboxField } from '../../components/ChoiceCard';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { useToast } from '../../components/Toast';
import { fieldErrorsOf } from '../offsite/parts';
import { request, type SignupSettings as Settings, signupKeys, signupSettingsQuery } from './api';
import '../../styles/signup.css';

const FIELDS = ['enabled', 'refusedDomains', 'reservedNames', 'perAddressPerDay', 'perDomainPerDay', 'perIpPerHour'];

/** One entry a line (or comma-separated), blanks dropped: how people paste lists of domains. */
const lines = (text: string): string[] =>
  text
    .split(/[\n,]/)
    .map((line) => line.trim().toLowerCase())
    .filter((line) => line.length > 0);

/** Settings → Sign-up (platform admins): whether strangers may sign up, and the limits that keep them honest. */
export function SignupSettings() {
  const loaded = useQuery(signupSettingsQuery());
  if (loaded.isPending) return <Loading />;
  if (loaded.error) return <FormError error={loaded.error} fields={[]} />;
  return <SignupSettingsForm settings={loaded.data} />;
}

function SignupSettingsForm({ settings }: { settings: Settings }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const [enabled, setEnabled] = useState(settings.enabled);
  const [refusedDomains, setRefusedDomains] = useState(settings.refusedDomains.join('\n'));
  const [reservedNames, setReservedNames] = useState(settings.reservedNames.join('\n'));
  const [perAddressPerDay, setPerAddressPerDay] = useState(String(settings.perAddressPerDay));
  const [perDomainPerDay, setPerDomainPerDay] = useState(String(settings.perDomainPerDay));
  const [perIpPerHour, setPerIpPerHour] = useState(String(settings.perIpPerHour));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errors = fieldErrorsOf(error);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const saved = await request<Settings>('PUT', '/settings/signup', {
        enabled,
        refusedDomains: lines(refusedDomains),
        reservedNames: lines(reservedNames),
        perAddressPerDay: Number(perAddressPerDay),
        perDomainPerDay: Number(perDomainPerDay),
        perIpPerHour: Number(perIpPerHour),
      });
      // What was stored, as stored (lists trimmed and lowercased).
      setRefusedDomains(saved.refusedDomains.join('\n'));
      setReservedNames(saved.reservedNames.join('\n'));
      queryClient.setQueryData(signupKeys.settings, saved);
      await queryClient.invalidateQueries({ queryKey: signupKeys.offer });
      toast.success(saved.enabled ? 'Sign-up is open.' : 'Sign-up settings saved.');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const conflict = error instanceof ApiError && error.status === 409;
  const signupUrl = `${window.location.origin}/signup`;
  return (
    <section className="card" aria-labelledby="signup-settings-title">
      <div className="card-header">
        <div>
          <h2 id="signup-settings-title">Sign-up</h2>
          <p className="card-subtitle">
            Let new customers create an account, an organization on a trial plan and their first Odoo by themselves.
          </p>
        </div>
      </div>
      <form className="form card-body" onSubmit={submit} noValidate aria-label="Sign-up settings">
        {conflict ? <Alert kind="error">{error.message}</Alert> : <FormError error={error} fields={FIELDS} />}
        <CheckboxField
          label="Open sign-up to the public"
          hint={
            <>
              The form is at <a href={signupUrl}>{signupUrl}</a>. It needs a base domain (MARINA_BASE_DOMAIN) for the
              customers' addresses, an email server to confirm their addresses, and at least one public plan with a
              trial.
            </>
          }
          checked={enabled}
          onChange={setEnabled}
        />
        <div className="form-grid">
          <Field
            label="Refused email domains"
            hint="One a line, e.g. throwaway mail services. Addresses at these domains cannot sign up."
            error={errors.refusedDomains}
          >
            {(props) => (
              <textarea
                {...props}
                className="mono"
                rows={5}
                spellCheck={false}
                value={refusedDomains}
                onChange={(e) => setRefusedDomains(e.target.value)}
              />
            )}
          </Field>
          <Field
            label="Reserved names"
            hint="One a line: addresses customers may not take, on top of Marina's own (www, mail, admin, …)."
            error={errors.reservedNames}
          >
            {(props) => (
              <textarea
                {...props}
                className="mono"
                rows={5}
                spellCheck={false}
                value={reservedNames}
                onChange={(e) => setReservedNames(e.target.value)}
              />
            )}
          </Field>
        </div>
        <fieldset className="signup-limits">
          <legend>Rate limits</legend>
          <div className="form-grid signup-limits-grid">
            <LimitField
              label="Per address, a day"
              value={perAddressPerDay}
              onChange={setPerAddressPerDay}
              error={errors.perAddressPerDay}
            />
            <LimitField
              label="Per email domain, a day"
              value={perDomainPerDay}
              onChange={setPerDomainPerDay}
              error={errors.perDomainPerDay}
            />
            <LimitField
              label="Per IP address, an hour"
              value={perIpPerHour}
              onChange={setPerIpPerHour}
              error={errors.perIpPerHour}
            />
          </div>
        </fieldset>
        <div className="form-actions form-actions-start">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </section>
  );
}

function LimitField({
  label,
  value,
  onChange,
  error,
}: {
  label: string;
  value: string;
  onChange(value: string): void;
  error?: string | undefined;
}) {
  return (
    <Field label={label} error={error}>
      {(props) => (
        <input
          {...props}
          type="number"
          min={1}
          step={1}
          inputMode="numeric"
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}
