import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { useToast } from '../../components/Toast';
import { type OidcProvider, type OidcProviderInput, oidcKeys, oidcProvidersQuery } from './api';
import { ProviderForm } from './ProviderForm';
import '../../styles/oidc.css';

/**
 * Platform admins: the external sign-in providers (OpenID Connect) offered on the login page. A
 * person signs in through one when the provider vouches for an email address that has an account
 * here (verified); the link is kept by the provider's subject afterwards.
 */
export function OidcProvidersSection() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const providers = useQuery(oidcProvidersQuery());
  const [editing, setEditing] = useState<OidcProvider | 'new' | null>(null);
  const [removing, setRemoving] = useState<OidcProvider | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: oidcKeys.providers });

  async function save(input: OidcProviderInput) {
    if (editing === 'new') {
      await call(api.POST('/api/v1/oidc-providers', { body: input }));
      toast.success(`${input.name} is added.`);
    } else if (editing) {
      const { slug: _slug, clientSecret, ...rest } = input;
      await call(
        api.PATCH('/api/v1/oidc-providers/{id}', {
          params: { path: { id: editing.id } },
          body: clientSecret ? { ...rest, clientSecret } : rest,
        }),
      );
      toast.success(`${input.name} is saved.`);
    }
    await refresh();
  }

  return (
    <section className="card card-flush" aria-label="Sign-in providers">
      <header className="card-header">
        <div>
          <h2>Sign-in providers</h2>
          <p className="card-subtitle">
            Let people sign in with Google Workspace, Microsoft Entra ID, Keycloak or any OpenID Connect provider. Only
            existing accounts can: the provider must have verified the email address of a Marina account.
          </p>
        </div>
        <button type="button" className="btn btn-primary" onClick={() => setEditing('new')}>
          Add provider
        </button>
      </header>
      {providers.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(providers.error)}</Alert>
        </div>
      ) : null}
      {providers.isPending ? <Loading /> : null}
      {providers.data && providers.data.length === 0 ? (
        <EmptyState title="No sign-in provider">People sign in with their email address and password.</EmptyState>
      ) : null}
      {providers.data && providers.data.length > 0 ? (
        <DataTable
          label="Sign-in providers"
          rows={providers.data}
          rowKey={(p) => p.id}
          columns={[
            { header: 'Name', className: 'row-title', cell: (p) => p.name },
            { header: 'Issuer', cell: (p) => <code className="oidc-issuer">{p.issuer}</code> },
            { header: 'Client ID', cell: (p) => <code>{p.clientId}</code> },
            { header: 'Linked accounts', cell: (p) => p.linkedAccounts },
            {
              header: 'Status',
              cell: (p) => (p.enabled ? <Badge tone="green">on the login page</Badge> : <Badge>off</Badge>),
            },
            {
              header: 'Actions',
              hiddenHeader: true,
              className: 'actions',
              cell: (p) => (
                <div className="oidc-actions">
                  <button type="button" className="btn btn-secondary btn-small" onClick={() => setEditing(p)}>
                    Change
                  </button>
                  <button type="button" className="btn btn-danger btn-small" onClick={() => setRemoving(p)}>
                    Remove
                  </button>
                </div>
              ),
            },
          ]}
        />
      ) : null}
      {editing ? (
        <ProviderForm
          provider={editing === 'new' ? undefined : editing}
          onSave={save}
          onClose={() => setEditing(null)}
        />
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Remove ${removing.name}?`}
          confirmLabel="Remove provider"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await call(api.DELETE('/api/v1/oidc-providers/{id}', { params: { path: { id: removing.id } } }));
            toast.success(`${removing.name} is removed.`);
            await refresh();
          }}
        >
          Its button leaves the login page and {removing.linkedAccounts} linked account(s) are unlinked. The accounts
          stay and keep their passwords.
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
