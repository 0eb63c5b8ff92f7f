import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { api, call } from '../api/client';
import { ApiError, errorMessage } from '../api/errors';
import { organizationsQuery, queryKeys } from '../api/queries';
import type { Organization } from '../api/types';
import { Alert } from '../components/Alert';
import { RoleBadge } from '../components/Badge';
import { DataTable } from '../components/DataTable';
import { EmptyState, Loading } from '../components/EmptyState';
import { FormError } from '../components/FormError';
import { NameField, SlugField } from '../components/FormFields';
import { BuildingIcon, ChevronRightIcon, PlusIcon } from '../components/icons';
import { Modal } from '../components/Modal';
import { PageHeader } from '../components/PageHeader';
import { useToast } from '../components/Toast';
import { formatDate, formatRelative, slugify } from '../format';
import { isOperator } from '../session/permissions';
import { useMe, useSession } from '../session/SessionContext';
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
        <NameField required value={name} onChange={setName} error={fieldErrors.name} />
        <SlugField
          required
          hint="Used in addresses and the CLI: lowercase letters, digits and dashes."
          value={shownSlug}
          onChange={(typed) => {
            setSlugEdited(true);
            setSlug(typed);
          }}
          error={fieldErrors.slug}
        />
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
    <DataTable
      label="Organizations"
      className="table-clickable"
      rows={organizations}
      rowKey={(org) => org.id}
      rowProps={(org) => ({ onClick: () => navigate(`/organizations/${org.slug}`) })}
      columns={[
        {
          header: 'Name',
          cell: (org) => (
            <Link className="row-title" to={`/organizations/${org.slug}`} onClick={(e) => e.stopPropagation()}>
              {org.name}
            </Link>
          ),
        },
        { header: 'Slug', className: 'mono muted', cell: (org) => org.slug },
        { header: 'Your role', cell: (org) => <RoleBadge role={org.role} /> },
        { header: 'Members', headerClassName: 'num', className: 'num', cell: (org) => org.memberCount },
        {
          header: 'Created',
          cellProps: (org) => ({ title: formatRelative(org.createdAt) }),
          cell: (org) => formatDate(org.createdAt),
        },
        { header: 'Open', hiddenHeader: true, className: 'row-chevron', cell: () => <ChevronRightIcon /> },
      ]}
    />
  );
}

export function OrganizationsPage() {
  const me = useMe();
  const session = useSession();
  const toast = useToast();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const queryClient = useQueryClient();
  const { data, error, isPending } = useQuery(organizationsQuery());
  const organizationsChanged = () => void queryClient.invalidateQueries({ queryKey: queryKeys.organizations.all });
  const canCreate = isOperator(me);

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
          organizationsChanged();
          void session.refresh();
        }}
      />
      <section className="card card-flush">
        {error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(error)}</Alert>
          </div>
        ) : null}
        {isPending ? <Loading /> : null}
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
            organizationsChanged();
            navigate(`/organizations/${organization.slug}`);
          }}
        />
      ) : null}
    </>
  );
}
