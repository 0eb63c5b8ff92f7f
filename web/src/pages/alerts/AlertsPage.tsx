import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useParams } from 'react-router-dom';
import { errorMessage } from '../../api/errors';
import { organizationQuery } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ActivityIcon, ArrowLeftIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { useNow } from '../../live';
import { can, isOperator } from '../../session/permissions';
import { useMe } from '../../session/SessionContext';
import { incidentsQuery } from './api';
import { ChannelsSection } from './ChannelsSection';
import { IncidentsTable } from './incidents';
import { RulesSection } from './RulesSection';
import '../../styles/alerts.css';

/** Everything that happened, open ones first: every member sees them. */
function IncidentsSection({ organizationId }: { organizationId: string }) {
  const now = useNow(30_000);
  const incidents = useQuery(incidentsQuery(organizationId));
  const names = useMemo(
    () =>
      new Map(
        (incidents.data ?? []).flatMap((i) => (i.instanceId && i.instanceName ? [[i.instanceId, i.instanceName]] : [])),
      ),
    [incidents.data],
  );
  const open = incidents.data?.filter((i) => i.resolvedAt === null).length ?? 0;
  return (
    <section className="card card-flush alerts-card" aria-label="Incidents">
      <header className="card-header">
        <div>
          <h2>
            Incidents{' '}
            {open > 0 ? (
              <Badge tone="red">{open} open</Badge>
            ) : incidents.data ? (
              <Badge tone="green">all clear</Badge>
            ) : null}
          </h2>
          <p className="card-subtitle">The latest 200, open ones first.</p>
        </div>
      </header>
      {incidents.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(incidents.error)}</Alert>
        </div>
      ) : null}
      {incidents.isPending ? <Loading /> : null}
      {incidents.data ? <IncidentsTable incidents={incidents.data} now={now} instanceNames={names} /> : null}
      {incidents.data?.length === 0 ? (
        <EmptyState icon={<ActivityIcon width={28} height={28} />} title="No incidents yet">
          Marina checks every running production instance about once a minute, and watches memory, backups, offsite
          copies, certificates, storage and failing jobs. What goes wrong shows here, and is sent to the channels.
        </EmptyState>
      ) : null}
    </section>
  );
}

/** An organization's alerts: where they go (channels), what fires them (rules), and the incidents. */
export function AlertsPage() {
  const { slug = '' } = useParams();
  const me = useMe();
  const org = useQuery(organizationQuery(slug));
  const back = (
    <Link className="back-link" to={`/organizations/${slug}`}>
      <ArrowLeftIcon />
      {org.data?.name ?? 'Organization'}
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
  const manage = can(me, organization.id, 'alerts.manage');

  return (
    <>
      {isOperator(me) ? back : null}
      <PageHeader title="Alerts" subtitle={`What Marina watches for ${organization.name}, and whom it tells.`} />
      {manage ? (
        <>
          <ChannelsSection organizationId={organization.id} />
          <RulesSection organizationId={organization.id} />
        </>
      ) : (
        <div className="page-banner">
          <Alert kind="info">
            The organization’s owners and admins choose where alerts are sent and what fires them. You see the
            incidents.
          </Alert>
        </div>
      )}
      <IncidentsSection organizationId={organization.id} />
    </>
  );
}
