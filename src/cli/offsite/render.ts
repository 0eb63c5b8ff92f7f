import type { BackupCopy, Destination, ProbeResult, RetentionPolicy, Schedule } from '../api/types.js';
import { ago } from '../output.js';
import { machineTimeZone, relative, wallClock } from '../time.js';

/** Destinations, schedules, copies and connection tests, as lines for people. */

export function where(d: Destination): string {
  if (d.s3) {
    const path = d.s3.prefix ? `${d.s3.bucket}/${d.s3.prefix}` : d.s3.bucket;
    return `${path} @ ${d.s3.endpoint ?? `AWS ${d.s3.region}`}`;
  }
  if (d.sftp) {
    const { username, host, port, folder } = d.sftp;
    // Relative folders are inside the login folder; an absolute one keeps its leading slash.
    const path = folder === '' ? '' : folder.startsWith('/') ? `:${folder}` : `/${folder}`;
    return `${username}@${host}:${port}${path}`;
  }
  return '-';
}

const policyText = (p: RetentionPolicy) => `last ${p.last}, daily ${p.daily}, weekly ${p.weekly}, monthly ${p.monthly}`;

export function scheduleLines(schedule: Schedule, names: Map<string, string>): string[] {
  const here = machineTimeZone();
  const at = (iso: string) => {
    const local = `${wallClock(iso, schedule.spec.timeZone)} ${schedule.spec.timeZone}`;
    return schedule.spec.timeZone === here ? local : `${local} (${wallClock(iso, here)} ${here})`;
  };
  const nameOf = (id: string) => names.get(id) ?? id;
  const retention = [`local: ${policyText(schedule.retention.local)}`];
  for (const id of schedule.destinationIds) {
    const own = schedule.retention.destinations[id];
    retention.push(`${nameOf(id)}: ${own ? policyText(own) : 'as local'}`);
  }
  const row = (label: string, value: string) => `  ${`${label}:`.padEnd(14)}${value}`;
  return [
    row('when', schedule.description),
    row('enabled', schedule.enabled ? 'yes' : 'no (disabled)'),
    row('backup', `${schedule.kind}, ${schedule.format}`),
    row(
      'copies to',
      schedule.destinationIds.length ? schedule.destinationIds.map(nameOf).join(', ') : 'none (local only)',
    ),
    row('retention', retention[0] ?? ''),
    ...retention.slice(1).map((line) => `${' '.repeat(16)}${line}`),
    row(
      'next run',
      schedule.nextRunAt
        ? `${at(schedule.nextRunAt)}, ${relative(schedule.nextRunAt)}`
        : schedule.enabled
          ? 'not planned'
          : 'none (disabled)',
    ),
    row(
      'last run',
      schedule.lastRunAt
        ? `${at(schedule.lastRunAt)}, ${ago(schedule.lastRunAt)}${schedule.lastRun ? `: ${lastRunText(schedule.lastRun)}` : ''}`
        : 'never',
    ),
    ...schedule.destinationWarnings.map((w) =>
      row('warning', `"${w.name}" failed its last connection test: ${w.health.error ?? 'see the destination'}`),
    ),
    row(
      'verification',
      schedule.verifyEveryDays
        ? `a test restore every ${schedule.verifyEveryDays} day(s); last ${schedule.lastVerifiedAt ? ago(schedule.lastVerifiedAt) : 'never'}`
        : 'off',
    ),
  ];
}

/** A run's one state, with the copies that failed when it is partial. */
export function lastRunText(run: NonNullable<Schedule['lastRun']>): string {
  if (run.state !== 'partial') return run.state;
  return `partial (copy failed: ${run.failedCopies.map((c) => c.destinationName).join(', ')})`;
}

export const copyMark: Record<BackupCopy['status'], string> = {
  verified: '✓',
  failed: '✗',
  pending: '…',
  uploading: '…',
  deleted: '(deleted)',
};

export const copiesText = (copies: BackupCopy[]) =>
  copies.length ? copies.map((c) => `${c.destinationName} ${copyMark[c.status]}`).join(' ') : '-';

export function probeLines(result: ProbeResult): string[] {
  const lines = result.steps.map((s) => `  ${s.ok ? '✓' : '✗'} ${s.step.padEnd(8)} ${Math.round(s.ms)} ms`);
  if (result.hostKeyFingerprint)
    lines.push(`  host key ${result.hostKeyFingerprint}${result.pinned ? ' (pinned now)' : ''}`);
  if (result.error) lines.push(`  ✗ ${result.error.reason}: ${result.error.message}`);
  return lines;
}

export const colour = () => process.stdout.isTTY === true && !process.env.NO_COLOR;

/** A destination's health from its last connection test, in a word or two. */
export function healthText(d: Destination): string {
  if (d.health.status === 'untested') return 'not tested';
  const when = d.health.testedAt ? ` ${ago(d.health.testedAt)}` : '';
  return d.health.status === 'ok' ? `ok${when}` : `FAILED${when}`;
}

/** The connection test a save ran: its steps, and what a failing one means. */
export function printTest(test: ProbeResult): void {
  console.log(test.ok ? 'Connection test passed:' : 'Connection test FAILED (saved anyway, marked unhealthy):');
  for (const line of probeLines(test)) console.log(line);
}
