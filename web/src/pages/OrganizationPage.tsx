import { type FormEvent, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError, errorMessage } from '../api/errors';
import { type Member, type Organization, type Role, roles } from '../api/types';
import { Alert } from '../components/Alert';
import { Badge, RoleBadge } from '../components/Badge';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { CopyField } from '../components/CopyField';
import { EmptyState, Loading } from '../components/EmptyState';
import { Field } from '../components/Field';
import { FormError } from '../components/FormError';
import { ArrowLeftIcon, PlusIcon, UsersIcon } from '../components/icons';
import { Modal } from '../components/Modal';
import { PageHeader } from '../components/PageHeader';
import { PASSWORD_HINT } from '../components/PasswordFields';
import { useToast } from '../components/Toast';
import { formatDate, formatRelative } from '../format';
import { type Me, useMe } from '../session/SessionContext';
import { useLoader } from '../useLoader';

const roleHelp: Record<Role, string> = {
  owner: 'Owner — everything, including managing owners',
  admin: 'Admin — manages members and settings',
  member: 'Member — uses the organization',
};

function AddMemberModal({ org, onClose, onAdded }: { org: Organization; onClose(): void; onAdded(): void }) {
  const toast = useToast();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [inviteUrl, setInviteUrl] = useState<string | null>(null);
  const assignableRoles = org.role === 'owner' || org.role === null ? roles : roles.filter((r) => r !== 'owner');

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        email: email.trim(),
        role,
        ...(name.trim() ? { name: name.trim() } : {}),
        ...(password ? { password } : {}),
      };
      const answer = await call(
        api.POST('/api/v1/organizations/{id}/members', { params: { path: { id: org.id } }, body }),
      );
      onAdded();
      if (answer.inviteUrl) {
        setInviteUrl(answer.inviteUrl);
      } else {
        toast.success(`${answer.member.email} was added as ${answer.member.role}.`);
        onClose();
      }
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  if (inviteUrl) {
    return (
      <Modal title="Invitation created" onClose={onClose} width="wide">
        <Alert kind="success">
          {email.trim()} was added to {org.name}. Send them this link so they can choose a password.
        </Alert>
        <CopyField label="Invitation link" value={inviteUrl} />
        <p className="field-hint">
          Copy it now: Marina stores only a fingerprint of the link and cannot show it again.
        </p>
        <div className="form-actions">
          <button type="button" className="btn btn-primary" onClick={onClose}>
            Done
          </button>
        </div>
      </Modal>
    );
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <Modal title="Add member" description={`Give someone access to ${org.name}.`} onClose={onClose}>
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={error} fields={['email', 'role', 'name', 'password']} />
        <Field label="Email" error={fieldErrors.email}>
          {(props) => (
            <input
              {...props}
              type="email"
              required
              autoComplete="off"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          )}
        </Field>
        <Field label="Role" error={fieldErrors.role}>
          {(props) => (
            <select {...props} value={role} onChange={(e) => setRole(e.target.value as Role)}>
              {assignableRoles.map((r) => (
                <option key={r} value={r}>
                  {roleHelp[r]}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field
          label="Name"
          optional
          error={fieldErrors.name}
          hint="Only used when the person has no Marina account yet."
        >
          {(props) => <input {...props} autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field
          label="Initial password"
          optional
          error={fieldErrors.password}
          hint={`Leave empty to create a one-time invitation link instead. ${PASSWORD_HINT}`}
        >
          {(props) => (
            <input
              {...props}
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !email.trim()}>
            {busy ? 'Adding…' : 'Add member'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function canManage(me: Me, org: Organization): boolean {
  return me.user.isPlatformAdmin || org.role === 'owner' || org.role === 'admin';
}

interface MembersTableProps {
  org: Organization;
  members: Member[];
  manage: boolean;
  onChanged(): void;
}

function MembersTable({ org, members, manage, onChanged }: MembersTableProps) {
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
      <div className="table-wrap">
        <table className="table" aria-label="Members">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Joined</th>
              {manage ? (
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {members.map((member) => (
              <tr key={member.userId}>
                <td className="row-title">{member.email}</td>
                <td>{member.name || <span className="muted">—</span>}</td>
                <td>
                  {manage ? (
                    <select
                      className="select-compact"
                      aria-label={`Role of ${member.email}`}
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
                  )}
                </td>
                <td>{member.pending ? <Badge tone="amber">invited</Badge> : <Badge tone="green">active</Badge>}</td>
                <td title={formatRelative(member.joinedAt)}>{formatDate(member.joinedAt)}</td>
                {manage ? (
                  <td className="actions">
                    <button type="button" className="btn btn-ghost btn-danger-text" onClick={() => setRemoving(member)}>
                      Remove<span className="visually-hidden"> {member.email}</span>
                    </button>
                  </td>
                ) : null}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
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
            <strong>{removing.email}</strong> loses access to {org.name} at once. Their Marina account stays; you can
            add them again later.
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
  const org = useLoader(
    async () => (await call(api.GET('/api/v1/organizations/{id}', { params: { path: { id: slug } } }))).organization,
    `org:${slug}`,
  );
  const instances = useLoader(async () => (await call(api.GET('/api/v1/instances'))).instances, 'instances');
  const destinations = useLoader(
    async () => {
      if (!org.data) return undefined;
      const query = { organizationId: org.data.id };
      return (await call(api.GET('/api/v1/destinations', { params: { query } }))).destinations;
    },
    `destinations:${org.data?.id ?? ''}`,
  );
  const members = useLoader(
    async () => (await call(api.GET('/api/v1/organizations/{id}/members', { params: { path: { id: slug } } }))).members,
    `members:${slug}`,
  );

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
  const refresh = () => {
    void members.reload();
    void org.reload();
  };

  return (
    <>
      {back}
      <PageHeader
        title={organization.name}
        subtitle={
          <>
            <span className="mono">{organization.slug}</span> · created {formatDate(organization.createdAt)}
          </>
        }
        actions={
          manage ? (
            <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
              <PlusIcon />
              Add member
            </button>
          ) : null
        }
      />
      <div className="stats stats-4">
        <div className="stat card">
          <span className="stat-label">Members</span>
          <span className="stat-value">{organization.memberCount}</span>
        </div>
        <div className="stat card">
          <span className="stat-label">Your role</span>
          <span className="stat-value">
            <RoleBadge role={organization.role} />
          </span>
        </div>
        <div className="stat card">
          <span className="stat-label">Instances</span>
          <span className="stat-value">
            {instances.data ? instances.data.filter((i) => i.organizationId === organization.id).length : '—'}
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
      </div>
      <section className="card card-flush">
        <header className="card-header">
          <h2>Members</h2>
        </header>
        {members.error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(members.error)}</Alert>
          </div>
        ) : null}
        {!members.data && members.loading ? <Loading /> : null}
        {members.data && members.data.length === 0 ? (
          <EmptyState icon={<UsersIcon width={28} height={28} />} title="No members yet">
            <p>Add the people who should work with this organization.</p>
          </EmptyState>
        ) : null}
        {members.data && members.data.length > 0 ? (
          <MembersTable org={organization} members={members.data} manage={manage} onChanged={refresh} />
        ) : null}
      </section>
      {adding ? <AddMemberModal org={organization} onClose={() => setAdding(false)} onAdded={refresh} /> : null}
    </>
  );
}
