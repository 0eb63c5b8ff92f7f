import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, call } from '../api/client';
import { errorMessage } from '../api/errors';
import {
  destinationsQuery,
  membersQuery,
  organizationInstanceCountQuery,
  organizationQuery,
  queryKeys,
} from '../api/queries';
import { type Member, type Organization, type Role, roles } from '../api/types';
import { AccountSwitch } from '../components/AccountSwitch';
import { Alert } from '../components/Alert';
import { Badge, RoleBadge } from '../components/Badge';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { DataTable } from '../components/DataTable';
import { EmptyState, Loading } from '../components/EmptyState';
import { ArrowLeftIcon, PlusIcon, UsersIcon } from '../components/icons';
import { PageHeader } from '../components/PageHeader';
import { useToast } from '../components/Toast';
import { UsageBars } from '../components/UsageBars';
import { formatDate, formatRelative } from '../format';
import { TrialBanner } from '../portal/Banners';
import { can, isOperator } from '../session/permissions';
import { type Me, useMe } from '../session/SessionContext';
import { incidentsQuery } from './alerts/api';
import { InvitationsSection } from './organization/InvitationsSection';
import { InviteModal } from './organization/InviteModal';
import { OrganizationProjects } from './project/OrganizationProjects';

// uPlot is loaded only when the chart is shown.
const StorageChart = lazy(() => import('./metrics/StorageChart'));

function canManage(me: Me, org: Organization): boolean {
  return can(me, org.id, 'team.manage');
}

interface MembersTableProps {
  org: Organization;
  members: Member[];
  manage: boolean;
  /** Platform admins disable and enable accounts (anyone's but their own). */
  accounts: { selfId: string } | null;
  onChanged(): void;
}

/** The members with their roles; change and remove for those who manage the team (also the Team page). */
export function MembersTable({ org, members, manage, accounts, onChanged }: MembersTableProps) {
  const toast = useToast();
  const [removing, setRemoving] = useState<Member | null>(null);
  const [updating, setUpdating] = useState<string | null>(null);

  async function changeRole(member: Member, role: Role) {
    setUpdating(member.userId);
    try {
      await call(
        api.PATCH('/api/v1/organizations/{id}/members/{userId}', {
          params: { path: { id: org.id, userId: member.userId } },
          body: { role },
        }),
      );
      toast.success(`${member.email} is now ${role}.`);
      onChanged();
    } catch (error) {
      toast.error(errorMessage(error));
    } finally {
      setUpdating(null);
    }
  }

  return (
    <>
      <DataTable
        label="Members"
        rows={members}
        rowKey={(member) => member.userId}
        columns={[
          { header: 'Email', className: 'row-title', cell: (member) => member.email },
          { header: 'Name', cell: (member) => member.name || <span className="muted">—</span> },
          {
            header: 'Role',
            cell: (member) =>
              manage ? (
                <select
                  className="select-compact"
                  aria-label={`Role of ${member.email}`}
                  data-permission="team.manage"
                  value={member.role}
                  disabled={updating === member.userId}
                  onChange={(e) => void changeRole(member, e.target.value as Role)}
                >
                  {roles.map((r) => (
                    <option key={r} value={r}>
                      {r}
                    </option>
                  ))}
                </select>
              ) : (
                <RoleBadge role={member.role} />
              ),
          },
          {
            header: 'Status',
            cell: (member) =>
              member.disabled ? <Badge tone="red">disabled</Badge> : <Badge tone="green">active</Badge>,
          },
          {
            header: 'Joined',
            cellProps: (member) => ({ title: formatRelative(member.joinedAt) }),
            cell: (member) => formatDate(member.joinedAt),
          },
          (manage || accounts) && {
            header: 'Actions',
            hiddenHeader: true,
            className: 'actions',
            cell: (member) => (
              <>
                {accounts && member.userId !== accounts.selfId ? (
                  <AccountSwitch account={{ ...member, id: member.userId }} onChanged={onChanged} />
                ) : null}
                {manage ? (
                  <button
                    type="button"
                    className="btn btn-ghost btn-danger-text"
                    data-permission="team.manage"
                    onClick={() => setRemoving(member)}
                  >
                    Remove<span className="visually-hidden"> {member.email}</span>
                  </button>
                ) : null}
              </>
            ),
          },
        ]}
      />
      {removing ? (
        <ConfirmDialog
          title="Remove member?"
          confirmLabel="Remove member"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await call(
              api.DELETE('/api/v1/organizations/{id}/members/{userId}', {
                params: { path: { id: org.id, userId: removing.userId } },
              }),
            );
            toast.success(`${removing.email} was removed from ${org.name}.`);
            onChanged();
          }}
        >
          <p>
            <strong>{removing.email}</strong> loses access to {org.name} at once, and their pending invitations to it
            are revoked. Their Marina account stays; you can invite them again later.
          </p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}

export function OrganizationPage() {
  const { slug = '' } = useParams();
  const me = useMe();
  const [adding, setAdding] = useState(false);
  const queryClient = useQueryClient();
  const org = useQuery(organizationQuery(slug));
  // The address names the organization by slug; its instances and destinations are asked for by id, once known.
  const organizationId = org.data?.id ?? '';
  const instanceCount = useQuery(organizationInstanceCountQuery(organizationId));
  const destinations = useQuery({ ...destinationsQuery({ organizationId }), enabled: Boolean(organizationId) });
  const members = useQuery(membersQuery(slug));
  const incidents = useQuery({ ...incidentsQuery(organizationId), enabled: Boolean(organizationId) });

  const back = (
    <Link className="back-link" to="/organizations">
      <ArrowLeftIcon />
      Organizations
    </Link>
  );

  if (org.error) {
    return (
      <>
        {back}
        <Alert kind="error">{errorMessage(org.error)}</Alert>
      </>
    );
  }
  if (!org.data) return <Loading />;

  const organization = org.data;
  const manage = canManage(me, organization);
  // The operator's view of any organization; a customer's portal keeps the team on its own page.
  const operator = isOperator(me);
  // A support session is no member: it sees the organization as its owner (what `/me` says).
  const mine = me.organizations.find((o) => o.id === organization.id);
  // A member joined, left or changed role: the member list and the organization's counts follow.
  const refresh = () => void queryClient.invalidateQueries({ queryKey: queryKeys.organizations.all });

  return (
    <>
      {operator ? back : null}
      <PageHeader
        title={organization.name}
        subtitle={
          <>
            <span className="mono">{organization.slug}</span> · created {formatDate(organization.createdAt)}
          </>
        }
        actions={
          operator && manage ? (
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
      <div className="stats stats-5">
        <div className="stat card">
          <span className="stat-label">Members</span>
          <span className="stat-value">{organization.memberCount}</span>
          {operator ? null : (
            <Link className="stat-link" to={`/organizations/${organization.slug}/team`}>
              Team
            </Link>
          )}
        </div>
        <div className="stat card">
          <span className="stat-label">Your role</span>
          <span className="stat-value">
            <RoleBadge role={operator ? organization.role : (mine?.role ?? organization.role)} />
          </span>
        </div>
        <div className="stat card">
          <span className="stat-label">Instances</span>
          <span className="stat-value" data-testid="instance-count">
            {instanceCount.data ?? '—'}
          </span>
          <Link className="stat-link" to="/instances">
            Open instances
          </Link>
        </div>
        <div className="stat card">
          <span className="stat-label">Offsite destinations</span>
          <span className="stat-value">{destinations.data ? destinations.data.length : '—'}</span>
          <span className="inline-links stat-link">
            <Link to={`/organizations/${organization.slug}/destinations`}>Destinations</Link>
            <Link to={`/backups/history?organization=${organization.id}`}>Backup history</Link>
          </span>
        </div>
        <div className="stat card">
          <span className="stat-label">Open incidents</span>
          <span className="stat-value" data-testid="open-incidents">
            {incidents.data ? incidents.data.filter((i) => i.resolvedAt === null).length : '—'}
          </span>
          <Link className="stat-link" to={`/organizations/${organization.slug}/alerts`}>
            Alerts and uptime
          </Link>
        </div>
      </div>
      <TrialBanner organizationId={organization.id} />
      <UsageBars organizationId={organization.id} />
      <Suspense fallback={<Loading label="Loading the chart…" />}>
        <StorageChart organizationId={organization.id} />
      </Suspense>
      <OrganizationProjects organizationId={organization.id} />
      {/* In the portal the people are on the Team page. */}
      {operator ? (
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
            <EmptyState icon={<UsersIcon width={28} height={28} />} title="No members yet">
              <p>Invite the people who should work with this organization.</p>
            </EmptyState>
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
      ) : null}
      {operator && manage ? <InvitationsSection org={organization} platformAdmin /> : null}
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
