import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { errorMessage } from '../../api/errors';
import type { Instance } from '../../api/types';
import { Alert } from '../../components/Alert';
import { EmptyState, Loading } from '../../components/EmptyState';
import { GaugeIcon } from '../../components/icons';
import { useNow } from '../../live';
import { formatDuration } from '../../operate';
import { type UptimeDay, uptimeQuery } from './api';
import { IncidentsTable } from './incidents';
import '../../styles/alerts.css';

/* Loaded on demand (React.lazy), like the Metrics tab. */

const monthName = new Intl.DateTimeFormat('en-US', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const dayName = new Intl.DateTimeFormat('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' });

const thisMonth = () => new Date().toISOString().slice(0, 7);

/** `YYYY-MM` moved by some months. */
export function shiftMonth(month: string, by: number): string {
  const [year, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, m - 1 + by, 1)).toISOString().slice(0, 7);
}

const monthLabel = (month: string) => monthName.format(new Date(`${month}-01T00:00:00Z`));

/** 99.95 %: cut, not rounded, so a month with one failed check never reads 100 %. */
export function formatAvailability(value: number): string {
  if (value >= 100) return '100 %';
  // The API answers thousandths: counted as whole numbers, no float makes 99.95 read 99.94.
  return `${(Math.floor(Math.round(value * 1000) / 10) / 100).toFixed(2)} %`;
}

const toneOf = (day: UptimeDay | undefined) =>
  !day || day.checks === 0 ? 'none' : day.availability >= 100 ? 'good' : day.availability >= 99 ? 'fair' : 'bad';

/** Every day of the month as a bar coloured by its availability (grey without checks); its title says the figures. */
function DayStrip({ month, days }: { month: string; days: readonly UptimeDay[] }) {
  const [year, m] = month.split('-').map(Number) as [number, number];
  const count = new Date(Date.UTC(year, m, 0)).getUTCDate();
  const byDay = new Map(days.map((d) => [d.day, d]));
  const all = Array.from({ length: count }, (_, i) => `${month}-${String(i + 1).padStart(2, '0')}`);
  return (
    <figure className="card uptime-strip-card">
      <figcaption className="uptime-strip-head">
        <span className="metrics-card-title">Availability per day</span>
        <span className="uptime-legend" aria-hidden="true">
          <span className="uptime-key uptime-good" />
          100 %
          <span className="uptime-key uptime-fair" />≥ 99 %
          <span className="uptime-key uptime-bad" />
          below
          <span className="uptime-key uptime-none" />
          no checks
        </span>
      </figcaption>
      <ol className="uptime-strip" aria-label={`Availability per day, ${monthLabel(month)}`}>
        {all.map((key) => {
          const day = byDay.get(key);
          const tone = toneOf(day);
          const date = dayName.format(new Date(`${key}T00:00:00Z`));
          const said = day?.checks
            ? `${date}: ${formatAvailability(day.availability)}, ${day.failures} of ${day.checks} checks failed${
                day.downSeconds ? `, down ${formatDuration(day.downSeconds)}` : ''
              }`
            : `${date}: no checks`;
          return (
            <li key={key} className={`uptime-day uptime-${tone}`} title={said} data-day={key} data-tone={tone}>
              <span className="uptime-bar" />
              <span className="visually-hidden">{said}</span>
            </li>
          );
        })}
      </ol>
      <div className="uptime-axis" aria-hidden="true">
        <span>{dayName.format(new Date(`${all[0]}T00:00:00Z`))}</span>
        <span>{dayName.format(new Date(`${all.at(-1)}T00:00:00Z`))}</span>
      </div>
    </figure>
  );
}

/** The instance's SLA: the month's availability, each day's, and the incidents, month by month. */
export default function UptimeTab({ instance }: { instance: Pick<Instance, 'id' | 'stage'> }) {
  const now = useNow(30_000);
  const current = thisMonth();
  const [month, setMonth] = useState(current);
  const uptime = useQuery({ ...uptimeQuery(instance.id, month), placeholderData: keepPreviousData });
  const u = uptime.data;
  const checks = u?.days.reduce((n, d) => n + d.checks, 0) ?? 0;
  const failures = u?.days.reduce((n, d) => n + d.failures, 0) ?? 0;
  const down = u?.days.reduce((n, d) => n + d.downSeconds, 0) ?? 0;

  return (
    <section className="section uptime" aria-label="Uptime">
      <div className="section-head">
        <h2>Uptime</h2>
        <fieldset className="uptime-months">
          <legend className="visually-hidden">Month</legend>
          <button type="button" className="btn btn-small btn-secondary" onClick={() => setMonth(shiftMonth(month, -1))}>
            ‹ Previous
          </button>
          <span className="uptime-month" aria-live="polite" data-testid="uptime-month">
            {monthLabel(month)}
          </span>
          <button
            type="button"
            className="btn btn-small btn-secondary"
            disabled={month >= current}
            onClick={() => setMonth(shiftMonth(month, 1))}
          >
            Next ›
          </button>
        </fieldset>
      </div>
      {uptime.error ? <Alert kind="error">{errorMessage(uptime.error)}</Alert> : null}
      {uptime.isPending ? <Loading label="Loading the uptime…" /> : null}
      {u ? (
        <>
          <div className="stats stats-4 uptime-stats">
            <div className="stat card">
              <span className="stat-label">{monthLabel(u.month)}</span>
              <span className="stat-value uptime-figure" data-testid="uptime-availability">
                {checks ? formatAvailability(u.availability) : '—'}
              </span>
              <span className="stat-note">{checks ? 'of the checks passed' : 'no checks this month'}</span>
            </div>
            <div className="stat card">
              <span className="stat-label">This month</span>
              <span className="stat-value uptime-figure" data-testid="uptime-current">
                {u.month === current && !checks ? '—' : formatAvailability(u.currentMonthAvailability)}
              </span>
              <span className="stat-note">{monthLabel(current)} so far</span>
            </div>
            <div className="stat card">
              <span className="stat-label">Checks</span>
              <span className="stat-value tabular">{checks.toLocaleString('en-US')}</span>
              <span className="stat-note">
                {failures ? `${failures.toLocaleString('en-US')} failed` : 'none failed'}
              </span>
            </div>
            <div className="stat card">
              <span className="stat-label">Downtime</span>
              <span className="stat-value tabular">{down ? formatDuration(down) : '0s'}</span>
              <span className="stat-note">time the checks failed</span>
            </div>
          </div>
          {checks === 0 ? (
            <EmptyState icon={<GaugeIcon width={28} height={28} />} title="No checks yet">
              Only running production instances are checked, about once a minute: directly, and through the proxy when
              Marina runs it.
              {instance.stage === 'production'
                ? ' The days fill in while the instance runs.'
                : ` This one is ${instance.stage}: it is not checked.`}
            </EmptyState>
          ) : (
            <DayStrip month={u.month} days={u.days} />
          )}
          <section className="card card-flush alerts-card" aria-label="Incidents of the month">
            <header className="card-header">
              <h2>Incidents in {monthLabel(u.month)}</h2>
            </header>
            {u.incidents.length ? (
              <IncidentsTable incidents={u.incidents} now={now} />
            ) : (
              <EmptyState title="No incidents this month">
                {checks ? 'Every failed check stayed below the threshold that opens an incident.' : null}
              </EmptyState>
            )}
          </section>
        </>
      ) : null}
    </section>
  );
}
