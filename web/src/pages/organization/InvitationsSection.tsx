import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { invitationsQuery, queryKeys } from '../../api/queries';
import type { Organization } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge, RoleBadge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { CopyField } from '../../components/CopyField';
import { DataTable } from '../../components/DataTable';
import { Modal } from '../../components/Modal';
import { useToast } from '../../components/Toast';
import { formatDate, formatRelative } from '../../format';

type Invitation = NonNullable<ReturnType<typeof useInvitations>['data']>[number];

const useInvitations = (organizationId: string) => useQuery(invitationsQuery(organizationId));

function LinkModal({ invitation, onClose }: { invitation: Invitation; onClose(): void }) {
  const [link, setLink] = useState<{ url: string; expiresAt: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function issue() {
    setBusy(true);
    setError(null);
    try {
      setLink(await call(api.POST('/api/v1/invitations/{id}/link', { params: { path: { id: invitation.id } } })));
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title="Invitation link" onClose={onClose} width="wide">
      {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
      {link ? (
        <>
          <CopyField label="Invitation link" value={link.url} />
          <p className="field-hint">
            Give it to {invitation.email} only, over a channel you trust. It works once, until{' '}
            {formatDate(link.expiresAt)}; Marina cannot show it again.
          </p>
        </>
      ) : (
        <>
          {invitation.mailError ? (
            <Alert kind="warning" title="The invitation email was not sent">
              {invitation.mailError}
            </Alert>
          ) : null}
          <p>
            A new link replaces any link sent before: only the new one will work. Whoever holds it can join as{' '}
            <strong>{invitation.email}</strong>.
          </p>
        </>
      )}
      <div className="form-actions">
        <button type="button" className="btn btn-secondary" onClick={onClose}>
          {link ? 'Done' : 'Cancel'}
        </button>
        {link ? null : (
          <button type="button" className="btn btn-primary" disabled={busy} onClick={() => void issue()}>
            {busy ? 'Issuing…' : 'Issue a link'}
          </button>
        )}
      </div>
    </Modal>
  );
}

/** Pending invitations of an organization, for its admins; platform admins can also issue links. */
export function InvitationsSection({ org, platformAdmin }: { org: Organization; platformAdmin: boolean }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const invitations = useInvitations(org.id);
  const revoke = useMutation({
    mutationFn: (invitation: Invitation) =>
      call(
        api.DELETE('/api/v1/organizations/{id}/invitations/{invitationId}', {
          params: { path: { id: org.id, invitationId: invitation.id } },
        }),
      ),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.organizations.invitations(org.id) }),
  });
  const [revoking, setRevoking] = useState<Invitation | null>(null);
  const [linking, setLinking] = useState<Invitation | null>(null);

  if (invitations.error) return <Alert kind="error">{errorMessage(invitations.error)}</Alert>;
  if (!invitations.data || invitations.data.length === 0) return null;

  return (
    <section className="card card-flush">
      <header className="card-header">
        <h2>Pending invitations</h2>
      </header>
      <DataTable
        label="Pending invitations"
        rows={invitations.data}
        rowKey={(invitation) => invitation.id}
        columns={[
          { header: 'Email', className: 'row-title', cell: (invitation) => invitation.email },
          { header: 'Role', cell: (invitation) => <RoleBadge role={invitation.role} /> },
          {
            header: 'Status',
            cell: (invitation) =>
              invitation.expired ? (
                <Badge tone="red">expired</Badge>
              ) : invitation.mailed ? (
                <Badge tone="amber">emailed</Badge>
              ) : (
                <Badge tone="red">not emailed</Badge>
              ),
          },
          {
            header: 'Invited',
            cellProps: (invitation) => ({ title: formatRelative(invitation.createdAt) }),
            cell: (invitation) => (
              <>
                {formatDate(invitation.createdAt)} by {invitation.invitedBy}
              </>
            ),
          },
          {
            header: 'Actions',
            hiddenHeader: true,
            className: 'actions',
            cell: (invitation) => (
              <>
                {platformAdmin ? (
                  <button type="button" className="btn btn-ghost" onClick={() => setLinking(invitation)}>
                    Get link<span className="visually-hidden"> for {invitation.email}</span>
                  </button>
                ) : null}
                <button type="button" className="btn btn-ghost btn-danger-text" onClick={() => setRevoking(invitation)}>
                  Revoke<span className="visually-hidden"> invitation of {invitation.email}</span>
                </button>
              </>
            ),
          },
        ]}
      />
      {revoking ? (
        <ConfirmDialog
          title="Revoke invitation?"
          confirmLabel="Revoke invitation"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await revoke.mutateAsync(revoking);
            toast.success(`The invitation of ${revoking.email} was revoked.`);
          }}
        >
          <p>
            The link sent to <strong>{revoking.email}</strong> stops working at once.
          </p>
        </ConfirmDialog>
      ) : null}
      {linking ? <LinkModal invitation={linking} onClose={() => setLinking(null)} /> : null}
    </section>
  );
}
