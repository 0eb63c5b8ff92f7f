import { type FormEvent, useState } from 'react';
import { ApiError } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { CopyField } from '../../components/CopyField';
import { CodeField, Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { NameField } from '../../components/FormFields';
import { Modal } from '../../components/Modal';
import { type AlertChannel, alertsApi, type ChannelKind } from './api';

export const channelKinds: { value: ChannelKind; label: string; hint: string }[] = [
  { value: 'email', label: 'Email', hint: 'An address that receives each alert and its resolution.' },
  {
    value: 'webhook',
    label: 'Webhook (JSON, signed)',
    hint: 'Marina POSTs a JSON body signed with HMAC-SHA256 (X-Marina-Signature) to your https URL.',
  },
  { value: 'slack', label: 'Slack', hint: 'A Slack incoming-webhook URL (hooks.slack.com/services/…).' },
  { value: 'mattermost', label: 'Mattermost', hint: 'A Mattermost incoming-webhook URL.' },
  { value: 'discord', label: 'Discord', hint: 'A Discord channel webhook URL (discord.com/api/webhooks/…).' },
  { value: 'teams', label: 'Microsoft Teams', hint: 'A Teams incoming-webhook (workflow) URL.' },
];

export const kindLabel = (kind: string) => channelKinds.find((k) => k.value === kind)?.label.split(' (')[0] ?? kind;

const FIELDS = ['kind', 'name', 'target', 'secret'] as const;

/**
 * Adds a channel. A generic webhook's signing secret comes back this once: the dialog then shows it
 * to copy, and says that it cannot be shown again.
 */
export function AddChannelModal({
  organizationId,
  onClose,
  onAdded,
}: {
  organizationId: string;
  onClose(): void;
  onAdded(channel: AlertChannel): void;
}) {
  const [kind, setKind] = useState<ChannelKind>('email');
  const [name, setName] = useState('');
  const [target, setTarget] = useState('');
  const [secret, setSecret] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [created, setCreated] = useState<{ channel: AlertChannel; secret: string } | null>(null);
  const email = kind === 'email';

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await alertsApi.addChannel(organizationId, {
        kind,
        target: target.trim(),
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(kind === 'webhook' && secret ? { secret } : {}),
      });
      onAdded(answer.channel);
      if (answer.secret) setCreated({ channel: answer.channel, secret: answer.secret });
      else onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  if (created) {
    return (
      <Modal title="Channel added" onClose={onClose} width="wide">
        <Alert kind="warning" title="Copy the signing secret now: it is shown once">
          Marina signs every message to <strong>{created.channel.name}</strong> with this secret (HMAC-SHA256 of the
          body, in the <code>X-Marina-Signature</code> header). It is stored sealed and never shown again: if you lose
          it, remove the channel and add it again.
        </Alert>
        <CopyField label="Webhook signing secret" value={created.secret} />
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={onClose}>
            I have copied it
          </button>
        </div>
      </Modal>
    );
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const chosen = channelKinds.find((k) => k.value === kind);
  return (
    <Modal
      title="Add an alert channel"
      description="Where Marina tells the organization that something is wrong, and when it is fixed."
      onClose={onClose}
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Add an alert channel">
        <FormError error={error} fields={FIELDS} />
        <Field label="Kind" hint={chosen?.hint} error={fieldErrors.kind}>
          {(props) => (
            <select
              {...props}
              value={kind}
              onChange={(e) => {
                setKind(e.target.value as ChannelKind);
                setError(null);
              }}
            >
              {channelKinds.map((k) => (
                <option key={k.value} value={k.value}>
                  {k.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <CodeField
          label={email ? 'Email address' : 'Webhook URL'}
          hint={email ? undefined : 'Only its origin is shown afterwards: the path of a webhook URL is often a secret.'}
          placeholder={email ? 'ops@example.com' : 'https://hooks.example.com/…'}
          value={target}
          onChange={setTarget}
          error={fieldErrors.target}
        />
        <NameField
          label="Name"
          optional
          hint="How the list and the audit log call it, e.g. “on-call team”."
          maxLength={80}
          value={name}
          onChange={setName}
          error={fieldErrors.name}
        />
        {kind === 'webhook' ? (
          <Field
            label="Signing secret"
            optional
            hint="At least 16 characters. Leave empty and Marina generates one, shown once after adding."
            error={fieldErrors.secret}
          >
            {(props) => (
              <input
                {...props}
                className="mono"
                autoComplete="off"
                spellCheck={false}
                value={secret}
                onChange={(e) => setSecret(e.target.value)}
              />
            )}
          </Field>
        ) : null}
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !target.trim()}>
            {busy ? 'Adding…' : 'Add channel'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
