import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError, errorMessage } from '../../api/errors';
import { limits } from '../../api/limits';
import { queryKeys, tokensQuery } from '../../api/queries';
import type { ApiToken } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { CopyField } from '../../components/CopyField';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { NameField } from '../../components/FormFields';
import { KeyIcon, PlusIcon } from '../../components/icons';
import { Modal } from '../../components/Modal';
import { useToast } from '../../components/Toast';
import { formatDate, formatDateTime, formatRelative } from '../../format';
import { useMe } from '../../session/SessionContext';

type TokenState = 'active' | 'expired' | 'revoked';

function stateOf(token: ApiToken, now = new Date()): TokenState {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && new Date(token.expiresAt) <= now) return 'expired';
  return 'active';
}

const stateTone = { active: 'green', expired: 'amber', revoked: 'red' } as const;

function CreateTokenModal({ onClose, onCreated }: { onClose(): void; onCreated(): void }) {
  const me = useMe();
  const [name, setName] = useState('');
  const [days, setDays] = useState('');
  const [scope, setScope] = useState<'read' | 'write' | 'metrics'>('write');
  const [organizationId, setOrganizationId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [secret, setSecret] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        name: name.trim(),
        scope,
        ...(days ? { expiresInDays: Number(days) } : {}),
        ...(organizationId ? { organizationId } : {}),
      };
      const created = await call(api.POST('/api/v1/tokens', { body }));
      setSecret(created.secret);
      onCreated();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  if (secret) {
    return (
      <Modal title="Token created" onClose={onClose} width="wide">
        <Alert kind="warning" title="Copy the token now">
          This is the only time Marina shows it: only a fingerprint is stored. If you lose it, revoke it and create a
          new one.
        </Alert>
        <CopyField label="API token secret" value={secret} />
        <p className="field-hint">
          Use it as <code>Authorization: Bearer {secret.slice(0, 8)}…</code> or with <code>marina login --token</code>.
        </p>
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={onClose}>
            I have copied it
          </button>
        </div>
      </Modal>
    );
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <Modal
      title="New API token"
      description="A token acts as you, with your permissions, for scripts, CI jobs and the marina CLI."
      onClose={onClose}
    >
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={error} fields={['name', 'expiresInDays', 'scope', 'organizationId']} />
        <NameField
          label="Token name"
          hint="Say where it is used, e.g. “deploy pipeline”."
          required
          maxLength={limits.tokenName.maxLength}
          value={name}
          onChange={setName}
          error={fieldErrors.name}
        />
        <Field
          label="Access"
          hint="A read-only token can look but change nothing; a metrics token can only be scraped by Prometheus (GET /metrics)."
          error={fieldErrors.scope}
        >
          {(props) => (
            <select
              {...props}
              value={scope}
              onChange={(e) =>
                setScope(e.target.value === 'read' || e.target.value === 'metrics' ? e.target.value : 'write')
              }
            >
              <option value="write">Read and write</option>
              <option value="read">Read only</option>
              <option value="metrics">Metrics (Prometheus)</option>
            </select>
          )}
        </Field>
        <Field
          label="Organization"
          hint="Limit the token to one organization: it then reaches nothing else, and no platform settings."
          error={fieldErrors.organizationId}
        >
          {(props) => (
            <select {...props} value={organizationId} onChange={(e) => setOrganizationId(e.target.value)}>
              <option value="">Everything you can reach</option>
              {me.organizations.map((org) => (
                <option key={org.id} value={org.id}>
                  {org.name} only
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Expires after (days)"
          optional
          hint="Leave empty for a token that works until you revoke it."
          error={fieldErrors.expiresInDays}
        >
          {(props) => (
            <input
              {...props}
              type="number"
              min={limits.tokenDays.min}
              max={limits.tokenDays.max}
              step={1}
              inputMode="numeric"
              value={days}
              onChange={(e) => setDays(e.target.value)}
            />
          )}
        </Field>
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim()}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function TokensTable({ tokens, onRevoke }: { tokens: ApiToken[]; onRevoke(token: ApiToken): void }) {
  return (
    <DataTable
      label="API tokens"
      rows={tokens}
      rowKey={(token) => token.id}
      columns={[
        { header: 'Name', className: 'row-title', cell: (token) => token.name },
        { header: 'Token', className: 'mono muted', cell: (token) => `${token.prefix}…` },
        {
          header: 'Reach',
          cell: (token) => (
            <>
              {token.organization ? token.organization.name : <span className="muted">everything</span>}
              {token.scope === 'read' || token.scope === 'metrics' ? (
                <>
                  {' '}
                  <Badge tone="gray">{token.scope === 'read' ? 'read-only' : 'metrics'}</Badge>
                </>
              ) : null}
            </>
          ),
        },
        {
          header: 'Created',
          cellProps: (token) => ({ title: formatDateTime(token.createdAt) }),
          cell: (token) => formatDate(token.createdAt),
        },
        {
          header: 'Last used',
          cellProps: (token) => ({ title: token.lastUsedAt ? formatDateTime(token.lastUsedAt) : undefined }),
          cell: (token) => (token.lastUsedAt ? formatRelative(token.lastUsedAt) : <span className="muted">never</span>),
        },
        {
          header: 'Expires',
          cell: (token) => (token.expiresAt ? formatDate(token.expiresAt) : <span className="muted">never</span>),
        },
        {
          header: 'State',
          cell: (token) => {
            const state = stateOf(token);
            return <Badge tone={stateTone[state]}>{state}</Badge>;
          },
        },
        {
          header: 'Actions',
          hiddenHeader: true,
          className: 'actions',
          cell: (token) =>
            stateOf(token) === 'active' ? (
              <button type="button" className="btn btn-ghost btn-danger-text" onClick={() => onRevoke(token)}>
                Revoke<span className="visually-hidden"> {token.name}</span>
              </button>
            ) : null,
        },
      ]}
    />
  );
}

export function TokensSection() {
  const toast = useToast();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken | null>(null);
  const queryClient = useQueryClient();
  const tokens = useQuery(tokensQuery());
  const tokensChanged = () => queryClient.invalidateQueries({ queryKey: queryKeys.tokens });
  const revoke = useMutation({
    mutationFn: (token: ApiToken) => call(api.DELETE('/api/v1/tokens/{id}', { params: { path: { id: token.id } } })),
    onSuccess: tokensChanged,
  });

  return (
    <section className="card card-flush">
      <header className="card-header">
        <div>
          <h2>API tokens</h2>
          <p className="card-subtitle">
            Tokens act as you. Give each script its own, and revoke the ones you no longer use.
          </p>
        </div>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          <PlusIcon />
          New token
        </button>
      </header>
      {tokens.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(tokens.error)}</Alert>
        </div>
      ) : null}
      {tokens.isPending ? <Loading /> : null}
      {tokens.data && tokens.data.length === 0 ? (
        <EmptyState icon={<KeyIcon width={28} height={28} />} title="No API tokens">
          <p>Create one to use Marina’s API from scripts or the command line.</p>
        </EmptyState>
      ) : null}
      {tokens.data && tokens.data.length > 0 ? <TokensTable tokens={tokens.data} onRevoke={setRevoking} /> : null}
      {creating ? <CreateTokenModal onClose={() => setCreating(false)} onCreated={() => void tokensChanged()} /> : null}
      {revoking ? (
        <ConfirmDialog
          title="Revoke token?"
          confirmLabel="Revoke token"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await revoke.mutateAsync(revoking);
            toast.success(`Token ${revoking.name} revoked.`);
          }}
        >
          <p>
            Anything using <strong>{revoking.name}</strong> stops working at once. This cannot be undone.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
