import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { ChoiceCard } from '../../components/ChoiceCard';
import { Field } from '../../components/Field';
import { useToast } from '../../components/Toast';
import { type MailServer, type MailServerInput, mailApi, mailKeys, mailServerQuery } from './api';

type Mode = MailServer['mode'];
type Security = 'starttls' | 'tls' | 'none';

const modes: { value: Mode; title: string; hint: string }[] = [
  {
    value: 'catcher',
    title: 'Mail catcher',
    hint: 'Nothing leaves: every message Odoo sends shows up in the inbox below.',
  },
  {
    value: 'platform',
    title: "Platform's server",
    hint: 'Mail goes out through the SMTP relay the platform admins set.',
  },
  { value: 'own', title: 'Your own server', hint: "Mail goes out through your organization's SMTP server." },
];

/** How the instance's Odoo sends mail: written into Odoo as its one active outgoing server. */
export function OutgoingMailCard({ instanceId, isAdmin }: { instanceId: string; isAdmin: boolean }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const current = useQuery(mailServerQuery(instanceId));
  const [mode, setMode] = useState<Mode>('platform');
  const [host, setHost] = useState('');
  const [port, setPort] = useState('587');
  const [security, setSecurity] = useState<Security>('starttls');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const data = current.data;
    if (!data) return;
    setMode(data.mode);
    if (data.own) {
      setHost(data.own.host);
      setPort(String(data.own.port));
      setSecurity(data.own.security);
      setUsername(data.own.username);
    }
  }, [current.data]);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const body: MailServerInput =
      mode === 'own'
        ? {
            mode,
            own: {
              host: host.trim(),
              port: Number(port),
              security,
              username: username.trim(),
              ...(password !== '' ? { password } : {}),
            },
          }
        : { mode };
    try {
      const { mailServer } = await mailApi.setServer(instanceId, body);
      queryClient.setQueryData(mailKeys.server(instanceId), mailServer);
      setPassword('');
      toast.success('Outgoing mail is set in Odoo.');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const data = current.data;
  const fields = error instanceof ApiError ? error.fieldErrors : {};
  const offered = modes.filter((m) => m.value !== 'catcher' || data?.catcherAvailable || data?.mode === 'catcher');
  return (
    <section className="card mail-server-card" aria-label="Outgoing mail">
      <header className="card-header">
        <h3>Outgoing mail</h3>
        <span className="card-subtitle">
          {data && !data.configured ? 'Not set by Marina: Odoo keeps its own outgoing servers' : null}
        </span>
      </header>
      <form className="card-body" onSubmit={save}>
        {current.error ? <Alert kind="error">{errorMessage(current.error)}</Alert> : null}
        <fieldset className="mail-modes" disabled={!isAdmin}>
          <legend className="visually-hidden">How Odoo sends mail</legend>
          {offered.map((m) => (
            <ChoiceCard
              key={m.value}
              name="mail-mode"
              value={m.value}
              checked={mode === m.value}
              onChange={() => setMode(m.value)}
              title={m.title}
              hint={
                m.value === 'platform' && data && !data.platformConfigured
                  ? 'No platform relay is set yet: a platform admin sets one in Settings.'
                  : m.hint
              }
            />
          ))}
        </fieldset>
        {mode === 'own' ? (
          <div className="mail-own-fields">
            <Field label="SMTP host" error={fields['own.host'] ?? fields.host}>
              {(props) => (
                <input
                  {...props}
                  value={host}
                  onChange={(e) => setHost(e.target.value)}
                  placeholder="smtp.example.com"
                  autoComplete="off"
                  spellCheck={false}
                  required
                  disabled={!isAdmin}
                />
              )}
            </Field>
            <Field label="Port" error={fields['own.port']}>
              {(props) => (
                <input
                  {...props}
                  type="number"
                  min={1}
                  max={65535}
                  value={port}
                  onChange={(e) => setPort(e.target.value)}
                  required
                  disabled={!isAdmin}
                />
              )}
            </Field>
            <Field label="Security">
              {(props) => (
                <select
                  {...props}
                  value={security}
                  onChange={(e) => setSecurity(e.target.value as Security)}
                  disabled={!isAdmin}
                >
                  <option value="starttls">STARTTLS (usually port 587)</option>
                  <option value="tls">TLS from the start (usually port 465)</option>
                  <option value="none">None</option>
                </select>
              )}
            </Field>
            <Field label="Username" optional>
              {(props) => (
                <input
                  {...props}
                  value={username}
                  onChange={(e) => setUsername(e.target.value)}
                  autoComplete="off"
                  disabled={!isAdmin}
                />
              )}
            </Field>
            <Field
              label="Password"
              optional
              hint={data?.own?.passwordSet ? 'A password is saved: leave empty to keep it.' : undefined}
            >
              {(props) => (
                <input
                  {...props}
                  type="password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  autoComplete="new-password"
                  disabled={!isAdmin}
                />
              )}
            </Field>
          </div>
        ) : null}
        {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
        {isAdmin ? (
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? 'Saving…' : 'Save outgoing mail'}
            </button>
          </div>
        ) : null}
      </form>
    </section>
  );
}
