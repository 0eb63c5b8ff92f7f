import { useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router-dom';
import { organizationsQuery } from '../../api/queries';
import { ArchiveIcon, CloudIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { RunHistory } from './RunHistory';

/** Backup runs across instances: one organization, or everything the user can see. */
export function HistoryPage() {
  const [params, setParams] = useSearchParams();
  const orgs = useQuery(organizationsQuery());
  const organizationId = params.get('organization') ?? '';
  const organization = orgs.data?.find((o) => o.id === organizationId);

  return (
    <>
      <PageHeader
        title="Backup history"
        subtitle={
          organization
            ? `Every backup run of ${organization.name}’s instances, with its offsite copies.`
            : 'Every backup run, with its offsite copies: what ran, how long it took, where it was copied — and what failed.'
        }
        actions={
          <>
            <Link className="btn btn-secondary" to="/backups">
              <ArchiveIcon />
              All backups
            </Link>
            <Link
              className="btn btn-secondary"
              to={organization ? `/organizations/${organization.slug}/destinations` : '/destinations'}
            >
              <CloudIcon />
              Destinations
            </Link>
          </>
        }
      />
      <div className="history-scope">
        <label htmlFor="history-organization">Organization</label>
        <select
          id="history-organization"
          className="select-compact"
          value={organizationId}
          onChange={(e) => setParams(e.target.value ? { organization: e.target.value } : {}, { replace: true })}
        >
          <option value="">All</option>
          {(orgs.data ?? []).map((o) => (
            <option key={o.id} value={o.id}>
              {o.name}
            </option>
          ))}
        </select>
      </div>
      <section className="card card-flush">
        {/* Not remounted per organization: the rows shown stay until the other organization's arrive. */}
        <RunHistory organizationId={organizationId || undefined} showInstance />
      </section>
    </>
  );
}
