import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { paths } from '../../../../src/api/schema';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { limits } from '../../api/limits';
import { queryKeys, smtpSettingsQuery } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { CheckboxField } from '../../components/ChoiceCard';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { EmailField } from '../../components/FormFields';
import { useToast } from '../../components/Toast';
import { formatDateTime } from '../../format';
import { useMe } from '../../session/SessionContext';
import { fieldErrorsOf } from '../offsite/parts';

type Smtp = NonNullable<paths['/api/v1/settings/smtp']['get']['responses'][200]['content']['application/json']['smtp']>;
type Security = Smtp['security'];

const securityLabel: Record<Security, string> = {
  tls: 'TLS from the start (usually port 465)',
  starttls: 'STARTTLS, required (usually port 587)',
  none: 'None: plain text (port 25, local relays only)',
};
const defaultPort: Record<Security, number> = { tls: 465, starttls: 587, none: 25 };
const FIELDS = ['host', 'port', 'security', 'from', 'username', 'password'];

function SmtpForm({ smtp, onSaved }: { smtp: Smtp | null; onSaved(smtp: Smtp): void }) {
  const [host, setHost] = useState(smtp?.host ?? '');
  const [security, setSecurity] = useState<Security>(smtp?.security ?? 'starttls');
  const [port, setPort] = useState(String(smtp?.port ?? 587));
  const [username, setUsername] = useState(smtp?.username ?? '');
  const [password, setPassword] = useState('');
  const [forget, setForget] = useState(false);
  const [from, setFrom] = useState(smtp?.from ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errors = fieldErrorsOf(error);

  function chooseSecurity(next: Security) {
    // The usual port follows the security, unless the user typed another one.
    if (Number(port) === defaultPort[security]) setPort(String(defaultPort[next]));
    setSecurity(next);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        host: host.trim(),
        port: Number(port),
        security,
        from: from.trim(),
        username: username.trim() || null,
        ...(password ? { password } : forget ? { password: null } : {}),
      };
      const answer = await call(api.PUT('/api/v1/settings/smtp', { body }));
      setPassword('');
      setForget(false);
      onSaved(answer.smtp);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={submit} noValidate aria-label="SMTP server">
      <FormError error={error} fields={FIELDS} />
      <div className="form-grid smtp-grid">
        <Field label="SMTP host" error={errors.host}>
          {(props) => (
            <input
              {...props}
              autoComplete="off"
              placeholder="smtp.example.com"
              value={host}
              onChange={(e) => setHost(e.target.value)}
            />
          )}
        </Field>
        <Field label="Port" error={errors.port}>
          {(props) => (
            <input
              {...props}
              type="number"
              min={limits.smtpPort.min}
              max={limits.smtpPort.max}
              inputMode="numeric"
              value={port}
              onChange={(e) => setPort(e.target.value)}
            />
          )}
        </Field>
      </div>
      <Field label="Security" error={errors.security}>
        {(props) => (
          <select {...props} value={security} onChange={(e) => chooseSecurity(e.target.value as Security)}>
            {(['starttls', 'tls', 'none'] as const).map((s) => (
              <option key={s} value={s}>
                {securityLabel[s]}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="form-grid">
        <Field label="Username" optional error={errors.username}>
          {(props) => (
            <input {...props} autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value)} />
          )}
        </Field>
        <Field
          label="Password"
          optional
          hint={
            smtp?.passwordSet
              ? 'A password is stored. Type a new one to replace it; leave empty to keep it.'
              : 'Stored encrypted; never shown again.'
          }
          error={errors.password}
        >
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              placeholder={smtp?.passwordSet ? '••••••••  (set)' : ''}
              value={password}
              disabled={forget}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
      </div>
      {smtp?.passwordSet ? (
        <CheckboxField
          label="Remove the stored password"
          hint="For a relay that takes mail without signing in."
          checked={forget}
          onChange={(on) => {
            setForget(on);
            if (on) setPassword('');
          }}
        />
      ) : null}
      <Field label="From" hint="The sender of Marina’s emails: an address, or “Name <address>”." error={errors.from}>
        {(props) => (
          <input
            {...props}
            autoComplete="off"
            placeholder="Marina <marina@example.com>"
            value={from}
            onChange={(e) => setFrom(e.target.value)}
          />
        )}
      </Field>
      <div className="form-actions form-actions-start">
        <button type="submit" className="btn btn-primary" disabled={busy || !host.trim() || !from.trim()}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

function TestEmail() {
  const me = useMe();
  const [to, setTo] = useState(me.user.email);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<
    { ok: true; to: string; server: string; response: string } | { ok: false; error: unknown } | null
  >(null);

  async function send(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setOutcome(null);
    try {
      const answer = await call(api.POST('/api/v1/settings/smtp/test', { body: { to: to.trim() } }));
      setOutcome({ ok: true, to: answer.to, server: answer.server, response: answer.response });
    } catch (error) {
      setOutcome({ ok: false, error });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="smtp-test" onSubmit={send} noValidate aria-label="Send a test email">
      <div className="smtp-test-row">
        <EmailField label="Send a test email to" autoComplete="off" value={to} onChange={setTo} />
        <button type="submit" className="btn btn-secondary" disabled={busy || !to.trim()}>
          {busy ? 'Sending…' : 'Send test email'}
        </button>
      </div>
      {outcome?.ok ? (
        <Alert kind="success">
          <span data-testid="smtp-test-result">
            {outcome.server} accepted the message for {outcome.to}
            {outcome.response ? (
              <>
                {' '}
                and answered <code className="smtp-answer">{outcome.response}</code>
              </>
            ) : null}
            . Check that inbox (and its spam folder): accepted is not yet delivered.
          </span>
        </Alert>
      ) : null}
      {outcome && !outcome.ok ? (
        <Alert kind="error">
          <span data-testid="smtp-test-result">{errorMessage(outcome.error)}</span>
        </Alert>
      ) : null}
    </form>
  );
}

/** Platform admins: the SMTP server Marina sends its notices through (failed backups, …). */
export function SmtpSection() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const loaded = useQuery(smtpSettingsQuery());
  const smtpChanged = () => queryClient.invalidateQueries({ queryKey: queryKeys.settings.smtp });
  const remove = useMutation({
    mutationFn: () => call(api.DELETE('/api/v1/settings/smtp')),
    onSuccess: smtpChanged,
  });
  const [removing, setRemoving] = useState(false);
  const smtp = loaded.data;

  return (
    <section className="card card-flush" aria-label="Email (SMTP)">
      <header className="card-header">
        <div>
          <h2 className="title-with-badge">
            Email (SMTP){' '}
            {smtp ? (
              <Badge tone="green">configured</Badge>
            ) : smtp === null ? (
              <Badge tone="gray">not set up</Badge>
            ) : null}
            {smtp?.passwordSet ? <Badge tone="teal">password set</Badge> : null}
          </h2>
          <p className="card-subtitle">
            Marina emails organization admins when a scheduled backup or an offsite copy fails.
            {smtp ? ` Last changed by ${smtp.updatedBy}, ${formatDateTime(smtp.updatedAt)}.` : ''}
          </p>
        </div>
        {smtp ? (
          <button type="button" className="btn btn-danger-text btn-small" onClick={() => setRemoving(true)}>
            Remove
          </button>
        ) : null}
      </header>
      <div className="card-body smtp-body">
        {loaded.error ? <Alert kind="error">{errorMessage(loaded.error)}</Alert> : null}
        {smtp === undefined && !loaded.error ? <Loading /> : null}
        {smtp !== undefined ? (
          <SmtpForm
            key={smtp?.updatedAt ?? 'new'}
            smtp={smtp}
            onSaved={() => {
              toast.success('The SMTP settings were saved.');
              void smtpChanged();
            }}
          />
        ) : null}
        {smtp ? <TestEmail /> : null}
      </div>
      {removing ? (
        <ConfirmDialog
          title="Remove the SMTP settings?"
          confirmLabel="Remove"
          onClose={() => setRemoving(false)}
          onConfirm={async () => {
            await remove.mutateAsync();
            toast.success('Marina no longer sends email.');
          }}
        >
          <p>Marina stops sending email: nobody hears about failed backups except on the Backups tabs.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
