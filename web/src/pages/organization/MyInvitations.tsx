import { useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { RoleBadge } from '../../components/Badge';
import { useToast } from '../../components/Toast';
import { formatDate } from '../../format';
import { useLoader } from '../../useLoader';

/** Invitations addressed to the signed-in account: joining takes the account owner's own click. */
export function MyInvitations({ onAccepted }: { onAccepted(): void }) {
  const toast = useToast();
  const invitations = useLoader(
    async () => (await call(api.GET('/api/v1/me/invitations'))).invitations,
    'my-invitations',
  );
  const [busy, setBusy] = useState<string | null>(null);

  if (!invitations.data || invitations.data.length === 0) return null;

  async function accept(id: string, name: string) {
    setBusy(id);
    try {
      await call(api.POST('/api/v1/me/invitations/{id}/accept', { params: { path: { id } } }));
      toast.success(`You joined ${name}.`);
      void invitations.reload();
      onAccepted();
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="card card-flush">
      <header className="card-header">
        <h2>Invitations for you</h2>
      </header>
      <div className="table-wrap">
        <table className="table" aria-label="Invitations for you">
          <thead>
            <tr>
              <th scope="col">Organization</th>
              <th scope="col">Role</th>
              <th scope="col">Invited by</th>
              <th scope="col">Expires</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {invitations.data.map((invitation) => (
              <tr key={invitation.id}>
                <td className="row-title">{invitation.organization.name}</td>
                <td>
                  <RoleBadge role={invitation.role} />
                </td>
                <td>{invitation.invitedBy}</td>
                <td>{formatDate(invitation.expiresAt)}</td>
                <td className="actions">
                  <button
                    type="button"
                    className="btn btn-primary"
                    disabled={busy === invitation.id}
                    onClick={() => void accept(invitation.id, invitation.organization.name)}
                  >
                    Accept<span className="visually-hidden"> invitation to {invitation.organization.name}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
