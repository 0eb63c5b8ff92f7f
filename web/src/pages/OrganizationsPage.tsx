import { type FormEvent, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError, errorMessage } from '../api/errors';
import type { Organization } from '../api/types';
import { Alert } from '../components/Alert';
import { RoleBadge } from '../components/Badge';
import { EmptyState, Loading } from '../components/EmptyState';
import { Field } from '../components/Field';
import { FormError } from '../components/FormError';
import { BuildingIcon, ChevronRightIcon, PlusIcon } from '../components/icons';
import { Modal } from '../components/Modal';
import { PageHeader } from '../components/PageHeader';
import { useToast } from '../components/Toast';
import { formatDate, formatRelative, slugify } from '../format';
import { useMe, useSession } from '../session/SessionContext';
import { useLoader } from '../useLoader';
import { MyInvitations } from './organization/MyInvitations';

function CreateOrganizationModal({ onClose, onCreated }: { onClose(): void; onCreated(org: Organization): void }) {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const shownSlug = slugEdited ? slug : slugify(name);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { organization } = await call(
        api.POST('/api/v1/organizations', { body: { name: name.trim(), slug: shownSlug } }),
      );
      onCreated(organization);
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  return (
    <Modal
      title="New organization"
      description="An organization groups the people and, soon, the Odoo instances of one customer or team."
      onClose={onClose}
    >
      <form className="form" onSubmit={submit} noValidate>
        <FormError error={error} fields={['name', 'slug']} />
        <Field label="Name" error={fieldErrors.name}>
          {(props) => <input {...props} required value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field
          label="Slug"
          hint="Used in addresses and the CLI: lowercase letters, digits and dashes."
          error={fieldErrors.slug}
        >
          {(props) => (
            <input
              {...props}
              required
              className="mono"
              value={shownSlug}
              onChange={(e) => {
                setSlugEdited(true);
                setSlug(e.target.value);
              }}
            />
          )}
        </Field>
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !name.trim() || !shownSlug}>
            {busy ? 'Creating…' : 'Create organization'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function OrganizationsTable({ organizations }: { organizations: Organization[] }) {
  const navigate = useNavigate();
  return (
    <div className="table-wrap">
      <table className="table table-clickable">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Slug</th>
            <th scope="col">Your role</th>
            <th scope="col" className="num">
              Members
            </th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="visually-hidden">Open</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {organizations.map((org) => (
            <tr key={org.id} onClick={() => navigate(`/organizations/${org.slug}`)}>
              <td>
                <Link className="row-title" to={`/organizations/${org.slug}`} onClick={(e) => e.stopPropagation()}>
                  {org.name}
                </Link>
              </td>
              <td className="mono muted">{org.slug}</td>
              <td>
                <RoleBadge role={org.role} />
              </td>
              <td className="num">{org.memberCount}</td>
              <td title={formatRelative(org.createdAt)}>{formatDate(org.createdAt)}</td>
              <td className="row-chevron">
                <ChevronRightIcon />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function OrganizationsPage() {
  const me = useMe();
  const session = useSession();
  const toast = useToast();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const { data, error, loading, reload } = useLoader(
    async () => (await call(api.GET('/api/v1/organizations'))).organizations,
    'organizations',
  );
  const canCreate = me.user.isPlatformAdmin;

  return (
    <>
      <PageHeader
        title="Organizations"
        subtitle={
          canCreate
            ? 'Every organization on this Marina: you see them all as a platform administrator.'
            : 'The organizations you belong to.'
        }
        actions={
          canCreate ? (
            <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
              <PlusIcon />
              New organization
            </button>
          ) : null
        }
      />
      <MyInvitations
        onAccepted={() => {
          void reload();
          void session.refresh();
        }}
      />
      <section className="card card-flush">
        {error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(error)}</Alert>
          </div>
        ) : null}
        {loading && !data ? <Loading /> : null}
        {data && data.length === 0 ? (
          <EmptyState icon={<BuildingIcon width={28} height={28} />} title="No organizations yet">
            {canCreate ? (
              <p>Create the first one for a customer or a team, then invite the people who work in it.</p>
            ) : (
              <p>You are not a member of any organization yet. Ask an administrator to invite you.</p>
            )}
          </EmptyState>
        ) : null}
        {data && data.length > 0 ? <OrganizationsTable organizations={data} /> : null}
      </section>
      {creating ? (
        <CreateOrganizationModal
          onClose={() => setCreating(false)}
          onCreated={(organization) => {
            setCreating(false);
            toast.success(`Organization ${organization.name} created.`);
            void reload();
            navigate(`/organizations/${organization.slug}`);
          }}
        />
      ) : null}
    </>
  );
}
