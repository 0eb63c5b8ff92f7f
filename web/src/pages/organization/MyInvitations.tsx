import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { myInvitationsQuery, queryKeys } from '../../api/queries';
import { RoleBadge } from '../../components/Badge';
import { DataTable } from '../../components/DataTable';
import { useToast } from '../../components/Toast';
import { formatDate } from '../../format';

/** Invitations addressed to the signed-in account: joining takes the account owner's own click. */
export function MyInvitations({ onAccepted }: { onAccepted(): void }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const invitations = useQuery(myInvitationsQuery());
  const acceptance = useMutation({
    mutationFn: (id: string) => call(api.POST('/api/v1/me/invitations/{id}/accept', { params: { path: { id } } })),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: queryKeys.myInvitations }),
  });

  if (!invitations.data || invitations.data.length === 0) return null;

  async function accept(id: string, name: string) {
    try {
      await acceptance.mutateAsync(id);
      toast.success(`You joined ${name}.`);
      onAccepted();
    } catch (error) {
      toast.error(errorMessage(error));
    }
  }

  return (
    <section className="card card-flush">
      <header className="card-header">
        <h2>Invitations for you</h2>
      </header>
      <DataTable
        label="Invitations for you"
        rows={invitations.data}
        rowKey={(invitation) => invitation.id}
        columns={[
          { header: 'Organization', className: 'row-title', cell: (invitation) => invitation.organization.name },
          { header: 'Role', cell: (invitation) => <RoleBadge role={invitation.role} /> },
          { header: 'Invited by', cell: (invitation) => invitation.invitedBy },
          { header: 'Expires', cell: (invitation) => formatDate(invitation.expiresAt) },
          {
            header: 'Actions',
            hiddenHeader: true,
            className: 'actions',
            cell: (invitation) => (
              <button
                type="button"
                className="btn btn-primary"
                disabled={acceptance.isPending && acceptance.variables === invitation.id}
                onClick={() => void accept(invitation.id, invitation.organization.name)}
              >
                Accept<span className="visually-hidden"> invitation to {invitation.organization.name}</span>
              </button>
            ),
          },
        ]}
      />
    </section>
  );
}
