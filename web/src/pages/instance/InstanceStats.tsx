import type { ReactNode } from 'react';
import type { Instance, InstanceStats } from '../../api/types';
import { ProgressBar } from '../../components/ProgressBar';
import { formatTime } from '../../format';
import { formatBytes, formatMemoryMb, formatPercent, isRunning } from '../../operate';

export const STATS_EVERY_MS = 10_000;

export function StatCard({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div className="stat card" data-testid={testId}>
      <span className="stat-label">{label}</span>
      {children}
    </div>
  );
}

/** CPU, memory, network and storage of a running instance, sampled every STATS_EVERY_MS. */
export function StatsCards({ instance, stats }: { instance: Instance; stats: InstanceStats | undefined }) {
  const memoryShare =
    stats?.memoryBytes && stats.memoryLimitBytes ? (stats.memoryBytes / stats.memoryLimitBytes) * 100 : null;
  // A sample taken before a stop must not show a stopped instance as busy.
  const running = (stats?.running ?? false) && isRunning(instance);
  return (
    <section className="section" aria-label="Resource use">
      <div className="section-head">
        <h2>Resource use</h2>
        <span className="muted">
          {stats ? `Updated ${formatTime(stats.at)} · every ${STATS_EVERY_MS / 1000} s` : 'Measuring…'}
        </span>
      </div>
      <div className="stats stats-5">
        <StatCard label="CPU" testId="stat-cpu">
          <span className="stat-value tabular">{running ? formatPercent(stats?.cpuPercent) : '—'}</span>
          <span className="stat-note">
            of {instance.cpus} CPU{instance.cpus === 1 ? '' : 's'}
          </span>
        </StatCard>
        <StatCard label="Memory" testId="stat-memory">
          <span className="stat-value tabular">{running ? formatBytes(stats?.memoryBytes) : '—'}</span>
          {running && memoryShare !== null ? (
            <ProgressBar
              value={memoryShare}
              label="Memory used"
              tone={memoryShare > 90 ? 'red' : memoryShare > 75 ? 'amber' : 'brand'}
            />
          ) : null}
          <span className="stat-note">
            of {stats?.memoryLimitBytes ? formatBytes(stats.memoryLimitBytes) : formatMemoryMb(instance.memoryMb)}
          </span>
        </StatCard>
        <StatCard label="Network" testId="stat-network">
          <span className="stat-value stat-value-small tabular">
            ↓ {running ? formatBytes(stats?.networkRxBytes) : '—'}
          </span>
          <span className="stat-value stat-value-small tabular">
            ↑ {running ? formatBytes(stats?.networkTxBytes) : '—'}
          </span>
        </StatCard>
        <StatCard label="Database" testId="stat-database">
          <span className="stat-value tabular">{formatBytes(stats?.databaseBytes)}</span>
          <span className="stat-note mono">{instance.dbName}</span>
        </StatCard>
        <StatCard label="Filestore" testId="stat-filestore">
          <span className="stat-value tabular">{running ? formatBytes(stats?.filestoreBytes) : '—'}</span>
          <span className="stat-note">attachments and assets</span>
        </StatCard>
      </div>
    </section>
  );
}
