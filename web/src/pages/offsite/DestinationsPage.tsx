import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { destinationsQuery, organizationsQuery, queryKeys } from '../../api/queries';
import type { Destination, DestinationTest, Organization } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ArrowLeftIcon, CloudIcon, LockIcon, PlusIcon, TrashIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { useToast } from '../../components/Toast';
import { formatDate } from '../../format';
import { formatBytes } from '../../operate';
import { can, isOperator } from '../../session/permissions';
import { type Me, useMe } from '../../session/SessionContext';
import { AddDestinationModal, type OwnerChoice } from './AddDestinationModal';
import { useCleanup } from './CleanupButton';
import { EditDestinationModal } from './EditDestinationModal';
import { HealthBadge } from './Health';
import { endpointOf, kindName, ProbeReport, whereOf } from './parts';

interface Tested {
  busy: boolean;
  result?: DestinationTest;
  error?: unknown;
}

/** Offsite destinations are a backup matter: those who manage the organization's backups manage them. */
const isAdminOf = (me: Me, org: Organization | undefined) => can(me, org?.id, 'backup.manage');

function DestinationsTable({
  destinations,
  organizations,
  showOwner,
  canManage,
  onChanged,
  saved,
  onSaved,
}: {
  destinations: Destination[];
  organizations: Organization[];
  showOwner: boolean;
  canManage(destination: Destination): boolean;
  onChanged(): void;
  /** The destination saved last, with the connection test its save ran: shown under its row. */
  saved: { id: string; test: DestinationTest } | null;
  onSaved(destination: Destination, test: DestinationTest): void;
}) {
  const toast = useToast();
  const [tests, setTests] = useState<Record<string, Tested>>({});
  const [removing, setRemoving] = useState<Destination | null>(null);
  const [editing, setEditing] = useState<Destination | null>(null);
  useEffect(() => {
    if (saved) setTests((all) => ({ ...all, [saved.id]: { busy: false, result: saved.test } }));
  }, [saved]);

  async function test(destination: Destination) {
    setTests((all) => ({ ...all, [destination.id]: { busy: true } }));
    try {
      const result = await call(
        api.POST('/api/v1/destinations/{id}/test', { params: { path: { id: destination.id } } }),
      );
      setTests((all) => ({ ...all, [destination.id]: { busy: false, result } }));
      // Its health (and a key pinned now) changed with the test.
      onChanged();
    } catch (error) {
      setTests((all) => ({ ...all, [destination.id]: { busy: false, error } }));
    }
  }

  const orgName = (id: string | null) =>
    id === null ? null : (organizations.find((o) => o.id === id)?.name ?? 'another organization');

  return (
    <>
      <DataTable
        label="Destinations"
        className="destinations-table"
        rows={destinations}
        rowKey={(d) => d.id}
        rowProps={(d) => ({ 'data-destination-id': d.id, 'data-name': d.name })}
        columns={[
          {
            header: 'Name',
            cell: (d) => (
              <span className="stacked-time">
                <span className="destination-name">
                  <span className="row-title">{d.name}</span> <HealthBadge health={d.health} />
                </span>
                <span className="muted">
                  {d.organizationId === null ? 'platform-wide' : showOwner ? orgName(d.organizationId) : null}
                  {d.organizationId === null || showOwner ? ' · ' : null}
                  added {formatDate(d.createdAt)}
                </span>
              </span>
            ),
          },
          { header: 'Kind', cell: (d) => <span className={`kind-tag kind-${d.kind}`}>{kindName[d.kind]}</span> },
          {
            header: 'Where',
            cell: (d) => (
              <span className="stacked-time">
                <span className="mono where" title={whereOf(d)}>
                  {whereOf(d)}
                </span>
                {d.s3 ? <span className="muted">{endpointOf(d)}</span> : null}
                {d.sftp ? (
                  d.sftp.hostKeyFingerprint ? (
                    <span className="muted host-key-line" title={`Pinned host key ${d.sftp.hostKeyFingerprint}`}>
                      host key{' '}
                      <code className="fingerprint" data-testid="host-key">
                        {d.sftp.hostKeyFingerprint}
                      </code>
                    </span>
                  ) : (
                    <span
                      className="muted"
                      title="No host key is pinned, so nothing is uploaded there: run the connection test to pin the key the server shows"
                    >
                      host key: not pinned (test to pin)
                    </span>
                  )
                ) : null}
              </span>
            ),
          },
          {
            header: 'Encryption',
            cell: (d) =>
              d.encrypted ? (
                <Badge tone="green">
                  <LockIcon width={12} height={12} className="badge-icon" />
                  encrypted
                </Badge>
              ) : (
                <span className="muted">not encrypted</span>
              ),
          },
          {
            header: 'Copies',
            headerClassName: 'num',
            className: 'num tabular nowrap',
            cell: (d) => (
              <span className="stacked-time">
                <span>{d.copies}</span>
                <span className="muted">{formatBytes(d.bytes)}</span>
              </span>
            ),
          },
          {
            header: 'Actions',
            hiddenHeader: true,
            headerClassName: 'actions',
            className: 'actions',
            cell: (d) =>
              canManage(d) ? (
                <span className="row-actions">
                  <button
                    type="button"
                    className="btn btn-secondary btn-small"
                    aria-label="Test connection"
                    title="Test the connection: connect, write a probe file, read it back, delete it"
                    onClick={() => void test(d)}
                    disabled={tests[d.id]?.busy}
                  >
                    {tests[d.id]?.busy ? 'Testing…' : 'Test'}
                  </button>
                  <button type="button" className="btn btn-secondary btn-small" onClick={() => setEditing(d)}>
                    Edit
                  </button>
                  <button
                    type="button"
                    className="icon-button icon-button-danger"
                    aria-label={`Delete ${d.name}`}
                    title={d.copies > 0 ? `${d.copies} copies are kept there` : 'Delete this destination'}
                    onClick={() => setRemoving(d)}
                  >
                    <TrashIcon width={16} height={16} />
                  </button>
                </span>
              ) : null,
          },
        ]}
        detailsProps={(d) => ({ className: 'probe-row', 'data-probe-for': d.id })}
        rowDetails={(d) => {
          const tested = tests[d.id];
          if (!tested || tested.busy) return null;
          return (
            <>
              <div className="probe-head">
                <strong>Connection test</strong>
                <button
                  type="button"
                  className="icon-button icon-button-small"
                  aria-label="Close the test result"
                  onClick={() =>
                    setTests((all) => {
                      const { [d.id]: _, ...rest } = all;
                      return rest;
                    })
                  }
                >
                  ×
                </button>
              </div>
              {tested.result ? <ProbeReport result={tested.result} /> : null}
              {tested.error ? <Alert kind="error">{errorMessage(tested.error)}</Alert> : null}
            </>
          );
        }}
      />
      {editing ? (
        <EditDestinationModal destination={editing} onClose={() => setEditing(null)} onSaved={onSaved} />
      ) : null}
      {removing ? (
        <ConfirmDialog
          title={`Delete ${removing.name}?`}
          confirmLabel="Delete destination"
          onClose={() => setRemoving(null)}
          onConfirm={async () => {
            await call(api.DELETE('/api/v1/destinations/{id}', { params: { path: { id: removing.id } } }));
            toast.success(`${removing.name} was deleted.`);
            onChanged();
          }}
        >
          <p>
            Marina forgets <strong>{removing.name}</strong> ({whereOf(removing)}) and its stored secrets. Nothing at the
            destination itself is deleted.
          </p>
          {removing.copies > 0 ? (
            <p>
              It still keeps {removing.copies} backup {removing.copies === 1 ? 'copy' : 'copies'}: delete those backups
              (or let retention do it) first.
            </p>
          ) : null}
        </ConfirmDialog>
      ) : null}
    </>
  );
}

/**
 * Offsite destinations. Under an organization (/organizations/:slug/destinations): its own and the
 * platform-wide ones. On its own (/destinations): every destination the user can see.
 */
export function DestinationsPage() {
  const { slug } = useParams();
  const me = useMe();
  const platformAdmin = isOperator(me);
  const [adding, setAdding] = useState(false);
  const [saved, setSaved] = useState<{ id: string; test: DestinationTest } | null>(null);
  const queryClient = useQueryClient();
  const orgs = useQuery(organizationsQuery());
  const organization = slug ? orgs.data?.find((o) => o.slug === slug || o.id === slug) : undefined;
  const organizationId = organization?.id;
  // Under an organization, its id comes with the list of organizations: ask for its destinations then.
  const list = useQuery({
    ...destinationsQuery(organizationId ? { organizationId } : {}),
    enabled: !slug || Boolean(organizationId),
  });
  const destinationsChanged = () => void queryClient.invalidateQueries({ queryKey: queryKeys.destinations.all });
  const cleanup = useCleanup({ label: 'every instance with a schedule' });
  const onSaved = (destination: Destination, test: DestinationTest) => {
    setSaved({ id: destination.id, test });
    destinationsChanged();
  };

  const organizations = orgs.data ?? [];
  const owners: OwnerChoice[] = [
    ...(organization
      ? isAdminOf(me, organization)
        ? [{ id: organization.id, label: organization.name }]
        : []
      : organizations.filter((o) => isAdminOf(me, o)).map((o) => ({ id: o.id, label: o.name }))),
    ...(platformAdmin ? [{ id: null, label: 'Platform-wide: every organization' }] : []),
  ];
  const canManage = (d: Destination) =>
    d.organizationId === null
      ? platformAdmin
      : isAdminOf(
          me,
          organizations.find((o) => o.id === d.organizationId),
        );
  const destinations = list.data;
  const missing = slug && orgs.data && !organization;

  return (
    <>
      {organization ? (
        <Link className="back-link" to={`/organizations/${organization.slug}`}>
          <ArrowLeftIcon />
          {organization.name}
        </Link>
      ) : null}
      <PageHeader
        title="Offsite destinations"
        subtitle={
          organization
            ? `Where ${organization.name}’s backups are copied, away from this server: its own buckets and SFTP servers, and the platform-wide ones.`
            : 'Where backups are copied, away from this server: S3-compatible buckets and SFTP servers. Secrets are stored encrypted and never shown again.'
        }
        actions={
          <>
            {platformAdmin && !slug ? cleanup.button : null}
            {owners.length > 0 ? (
              <button type="button" className="btn btn-primary" onClick={() => setAdding(true)}>
                <PlusIcon />
                Add destination
              </button>
            ) : null}
          </>
        }
      />
      {cleanup.progress ? <div className="started-jobs">{cleanup.progress}</div> : null}
      {missing ? <Alert kind="error">No organization “{slug}” among yours.</Alert> : null}
      {orgs.error ? <Alert kind="error">{errorMessage(orgs.error)}</Alert> : null}
      <section className="card card-flush">
        {list.error ? (
          <div className="card-body">
            <Alert kind="error">{errorMessage(list.error)}</Alert>
          </div>
        ) : null}
        {!destinations && !list.error && !missing ? <Loading /> : null}
        {destinations && destinations.length === 0 ? (
          <EmptyState icon={<CloudIcon width={28} height={28} />} title="No destinations yet">
            <p>
              A backup kept only on the server it protects is lost with that server. Add an S3 bucket or an SFTP server,
              then choose it in an instance’s backup schedule.
            </p>
          </EmptyState>
        ) : null}
        {destinations && destinations.length > 0 ? (
          <DestinationsTable
            destinations={destinations}
            organizations={organizations}
            showOwner={!organization}
            canManage={canManage}
            onChanged={destinationsChanged}
            saved={saved}
            onSaved={onSaved}
          />
        ) : null}
      </section>
      {adding ? <AddDestinationModal owners={owners} onClose={() => setAdding(false)} onAdded={onSaved} /> : null}
      {cleanup.dialog}
    </>
  );
}
