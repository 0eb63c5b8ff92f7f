import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { errorMessage } from '../../api/errors';
import { databaseQuery } from '../../api/queries';
import type { DatabaseInfo, Instance } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { DatabaseIcon } from '../../components/icons';
import { InstanceStatusBadge, StageBadge } from '../../components/StatusBadges';
import { formatDateTime, formatRelative } from '../../format';
import { useNow } from '../../live';
import { formatBytes } from '../../operate';
import { formatLabel } from './parts';

/** An instance's database facts; none without an instance. The previous ones stay while the next load. */
export function useDatabaseInfo(instanceId: string | null) {
  return useQuery({
    ...databaseQuery(instanceId ?? ''),
    enabled: instanceId !== null,
    placeholderData: keepPreviousData,
  });
}

function InfoStat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="db-stat">
      <span className="stat-label">{label}</span>
      <span className="db-stat-value tabular">{children}</span>
    </div>
  );
}

/** An instance's database at a glance: size, tables, filestore, last backup. */
export function DatabaseCard({
  side,
  instance,
  info,
  error,
  placeholder,
}: {
  side: string;
  instance: Instance | null;
  info: DatabaseInfo | null | undefined;
  error?: unknown;
  /** Shown instead of numbers, e.g. for an instance that does not exist yet. */
  placeholder?: ReactNode;
}) {
  const now = useNow(30_000);
  const last = info?.lastBackup;
  return (
    <section className="card db-card" data-testid="database-card" aria-label={`${side} database`}>
      <header className="db-card-head">
        <span className="db-card-icon" aria-hidden="true">
          <DatabaseIcon />
        </span>
        <div className="db-card-title">
          <span className="stat-label">{side}</span>
          {instance ? (
            <span className="db-card-name">
              <Link to={`/instances/${instance.id}`} className="mono">
                {instance.name}
              </Link>
              <StageBadge stage={instance.stage} />
              <InstanceStatusBadge instance={instance} />
            </span>
          ) : (
            <span className="db-card-name muted">{placeholder ? 'New instance' : 'Choose an instance'}</span>
          )}
        </div>
      </header>
      {error ? <Alert kind="error">{errorMessage(error)}</Alert> : null}
      {placeholder ? (
        <p className="db-card-placeholder">{placeholder}</p>
      ) : instance && info === undefined && !error ? (
        <Loading />
      ) : info ? (
        <div className="db-stats">
          <InfoStat label="Database">{formatBytes(info.sizeBytes)}</InfoStat>
          <InfoStat label="Tables">{info.tables ?? '—'}</InfoStat>
          <InfoStat label="Filestore">{formatBytes(info.filestoreBytes)}</InfoStat>
          <InfoStat label="Last backup">
            {last ? (
              <span title={formatDateTime(last.createdAt)}>
                {formatRelative(last.createdAt, new Date(now))}
                <span className="db-stat-note">
                  {formatLabel[last.format]} · {formatBytes(last.sizeBytes)}
                </span>
              </span>
            ) : (
              <span className="db-stat-warn">never</span>
            )}
          </InfoStat>
        </div>
      ) : null}
    </section>
  );
}
