import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router-dom';
import { errorMessage } from '../../api/errors';
import { membersQuery, organizationQuery, queryKeys } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { EmptyState, Loading } from '../../components/EmptyState';
import { PlusIcon, UsersIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { can, isOperator } from '../../session/permissions';
import { useMe } from '../../session/SessionContext';
import { MembersTable } from '../OrganizationPage';
import { InvitationsSection } from '../organization/InvitationsSection';
import { InviteModal } from '../organization/InviteModal';

/**
 * An organization's people: members with their roles and, for those who may manage the team,
 * role changes, removal and invitations (only an owner grants or removes `owner`: the server says).
 */
export function TeamPage() {
  const { slug = '' } = useParams();
  const me = useMe();
  const queryClient = useQueryClient();
  const [adding, setAdding] = useState(false);
  const org = useQuery(organizationQuery(slug));
  const members = useQuery(membersQuery(slug));

  if (org.error) return <Alert kind="error">{errorMessage(org.error)}</Alert>;
  if (!org.data) return <Loading />;
  const organization = org.data;
  const manage = can(me, organization.id, 'team.manage');
  const refresh = () => void queryClient.invalidateQueries({ queryKey: queryKeys.organizations.all });

  return (
    <>
      <PageHeader
        title="Team"
        subtitle={`The people of ${organization.name} and what each may do.`}
        actions={
          manage ? (
            <button
              type="button"
              className="btn btn-primary"
              data-permission="team.manage"
              onClick={() => setAdding(true)}
            >
              <PlusIcon />
              Invite
            </button>
          ) : null
        }
      />
      <section className="card card-flush">
        <header className="card-header">
          <h2>Members</h2>
        </header>
        {members.error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(members.error)}</Alert>
          </div>
        ) : null}
        {members.isPending ? <Loading /> : null}
        {members.data && members.data.length === 0 ? (
          <EmptyState icon={<UsersIcon width={28} height={28} />} title="No members yet" />
        ) : null}
        {members.data && members.data.length > 0 ? (
          <MembersTable
            org={organization}
            members={members.data}
            manage={manage}
            accounts={isOperator(me) ? { selfId: me.user.id } : null}
            onChanged={refresh}
          />
        ) : null}
      </section>
      {manage ? <InvitationsSection org={organization} platformAdmin={isOperator(me)} /> : null}
      {adding ? (
        <InviteModal
          org={organization}
          onClose={() => setAdding(false)}
          onInvited={() =>
            void queryClient.invalidateQueries({ queryKey: queryKeys.organizations.invitations(organization.id) })
          }
        />
      ) : null}
    </>
  );
}
