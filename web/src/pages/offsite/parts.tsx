import { useQuery } from '@tanstack/react-query';
import { ApiError } from '../../api/errors';
import { destinationsQuery } from '../../api/queries';
import type { Backup, BackupCopy, CopyStatus, Destination, DestinationTest } from '../../api/types';
import type { BadgeTone } from '../../components/Badge';
import { CheckboxField } from '../../components/ChoiceCard';
import { formatDateTime } from '../../format';
import { formatBytes } from '../../operate';

export const kindName: Record<Destination['kind'], string> = { s3: 'S3', sftp: 'SFTP' };

/** Where a destination writes, in one line: s3://bucket/prefix or user@host:port/folder. */
export function whereOf(destination: Destination): string {
  if (destination.s3) {
    const { bucket, prefix } = destination.s3;
    return `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
  }
  if (destination.sftp) {
    const { username, host, port, folder } = destination.sftp;
    return `${username}@${host}${port === 22 ? '' : `:${port}`}${folder ? `:${folder}` : ''}`;
  }
  return '—';
}

/** The S3 endpoint's host (AWS when there is none), shown under the bucket. */
export function endpointOf(destination: Destination): string | null {
  if (!destination.s3) return null;
  const { endpoint, region } = destination.s3;
  if (!endpoint) return `AWS · ${region}`;
  try {
    return `${new URL(endpoint).host} · ${region}`;
  } catch {
    return endpoint;
  }
}

const copyLook: Record<CopyStatus, { mark: string; tone: BadgeTone; label: string }> = {
  pending: { mark: '…', tone: 'gray', label: 'waiting to upload' },
  uploading: { mark: '↑', tone: 'blue', label: 'uploading' },
  verified: { mark: '✓', tone: 'green', label: 'uploaded and verified' },
  failed: { mark: '✗', tone: 'red', label: 'failed' },
  deleted: { mark: '–', tone: 'gray', label: 'removed by retention' },
};

export function copyTitle(copy: BackupCopy): string {
  const look = copyLook[copy.status];
  const parts = [`${copy.destinationName} (${copy.destinationKind.toUpperCase()}): ${look.label}`];
  if (copy.status === 'verified' && copy.verifiedAt) parts.push(`verified ${formatDateTime(copy.verifiedAt)}`);
  if (copy.sizeBytes !== null && copy.status !== 'failed') parts.push(formatBytes(copy.sizeBytes));
  if (copy.encrypted) parts.push('encrypted');
  if (copy.attempts > 1) parts.push(`${copy.attempts} attempts`);
  let title = parts.join(' · ');
  if (copy.error) title += `\n${copy.error}`;
  return title;
}

/** One offsite copy as a small badge: "bucket ✓", "box ✗"; the details and the error on hover. */
export function CopyBadge({ copy }: { copy: BackupCopy }) {
  const look = copyLook[copy.status];
  return (
    <span
      className={`copy-badge badge badge-${look.tone}${copy.status === 'uploading' ? ' status-transitional' : ''}`}
      title={copyTitle(copy)}
      data-testid="copy-badge"
      data-destination={copy.destinationName}
      data-status={copy.status}
    >
      <span className="copy-name">{copy.destinationName}</span>
      <span className="copy-mark" aria-hidden="true">
        {look.mark}
      </span>
      <span className="visually-hidden">{look.label}</span>
    </span>
  );
}

export function CopyBadges({ copies }: { copies: BackupCopy[] }) {
  if (copies.length === 0) return null;
  return (
    <span className="copy-badges">
      {copies.map((copy) => (
        <CopyBadge key={copy.destinationId} copy={copy} />
      ))}
    </span>
  );
}

/** Where a backup is kept: the offsite copies, and whether the file on this server is still there. */
export function StoredCell({ backup }: { backup: Backup }) {
  const removed = backup.localStatus === 'deleted';
  if (!removed && backup.copies.length === 0) return <span className="muted">this server</span>;
  return (
    <span className="stored-cell">
      {removed ? (
        <span
          className="local-removed"
          data-testid="local-removed"
          title="Retention removed the file on this server; downloads and restores read an offsite copy."
        >
          local file removed
        </span>
      ) : null}
      <CopyBadges copies={backup.copies} />
    </span>
  );
}

/** The result of the last test restore: passed with N modules, or failed (why, on hover). */
export function VerificationNote({ backup }: { backup: Backup }) {
  const v = backup.verification;
  if (!v) return null;
  const when = formatDateTime(v.checkedAt);
  if (v.status === 'passed') {
    return (
      <span
        className="verify-note verify-passed"
        data-testid="verification"
        data-status="passed"
        title={`Test restore on ${when}: the database loaded${v.modules === null ? '' : ` with ${v.modules} installed modules`}.`}
      >
        ✓ restore test passed{v.modules === null ? '' : `, ${v.modules} modules`}
      </span>
    );
  }
  return (
    <span
      className="verify-note verify-failed"
      data-testid="verification"
      data-status="failed"
      title={`Test restore on ${when} failed${v.error ? `: ${v.error}` : ''}`}
    >
      ✗ restore test failed
    </span>
  );
}

export const probeStepLabel: Record<string, string> = {
  connect: 'Connect',
  write: 'Write a probe file',
  read: 'Read it back',
  delete: 'Delete it',
};
export const probeSteps = ['connect', 'write', 'read', 'delete'];

export const failureLabel: Record<string, string> = {
  dns: 'Host name not found',
  connect: 'Connection refused',
  timeout: 'Timed out',
  tls: 'TLS problem',
  auth: 'Authentication failed',
  permission: 'Permission denied',
  'bucket-missing': 'Bucket not found',
  'folder-missing': 'Folder not found',
  'not-found': 'Not found',
  'clock-skew': 'Clock skew',
  'host-key-changed': 'Host key changed',
  'host-key-unpinned': 'Host key not pinned',
  refused: 'Internal address refused',
  integrity: 'Integrity check failed',
  other: 'Error',
};

/** The steps of a connection test, ✓ or ✗ with their time, and precisely what failed. */
export function ProbeReport({ result }: { result: DestinationTest }) {
  const seen = new Set(result.steps.map((s) => s.step));
  return (
    <div className="probe" data-testid="probe-result" data-ok={result.ok}>
      <ol className="probe-steps">
        {result.steps.map((s) => (
          <li
            key={s.step}
            className={s.ok ? 'probe-step probe-ok' : 'probe-step probe-failed'}
            data-step={s.step}
            data-ok={s.ok}
          >
            <span className="probe-mark" aria-hidden="true">
              {s.ok ? '✓' : '✗'}
            </span>
            <span>{probeStepLabel[s.step] ?? s.step}</span>
            <span className="probe-ms tabular">{Math.round(s.ms)} ms</span>
          </li>
        ))}
        {probeSteps
          .filter((step) => !seen.has(step))
          .map((step) => (
            <li key={step} className="probe-step probe-skipped" data-step={step}>
              <span className="probe-mark" aria-hidden="true">
                ○
              </span>
              <span>{probeStepLabel[step]}</span>
              <span className="probe-ms">not tried</span>
            </li>
          ))}
      </ol>
      {result.error ? (
        <p className="probe-error" role="alert">
          <strong>{failureLabel[result.error.reason] ?? result.error.reason}</strong>{' '}
          <code className="probe-reason">{result.error.reason}</code>: {result.error.message}
        </p>
      ) : (
        <p className="probe-success">The destination works: Marina can write, read back and delete files there.</p>
      )}
      {result.hostKeyFingerprint ? (
        <p className="probe-hostkey" data-testid="probe-hostkey">
          {result.pinned ? 'Host key pinned: ' : 'Host key: '}
          <code>{result.hostKeyFingerprint}</code>
          {result.pinned
            ? ' — seen for the first time and trusted from now on; a different key will be refused.'
            : null}
        </p>
      ) : null}
    </div>
  );
}

/** The destinations an organization's backups may be copied to: its own and the platform-wide ones. */
export function useDestinations(organizationId: string | null | undefined) {
  return useQuery({ ...destinationsQuery({ organizationId: organizationId ?? '' }), enabled: Boolean(organizationId) });
}

/**
 * Field problems by the field's own name: the API names them "s3.bucket" (schema checks) or
 * "bucket" (services, whose messages start with that name); shown next to the input as
 * "Bucket must be …". `alias` sends a name to another input.
 */
export function fieldErrorsOf(error: unknown, alias: Record<string, string> = {}): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const result: Record<string, string> = {};
  for (const [field, message] of Object.entries(error.fieldErrors)) {
    const key = field.split('.').at(-1) ?? field;
    const target = alias[key] ?? key;
    const text = message.startsWith(`${key} `) ? message.slice(key.length + 1) : message;
    if (!(target in result)) result[target] = text;
  }
  return result;
}

/** A destination to tick: its name and kind, where it writes, and whether it encrypts. */
export function DestinationCheckbox(props: {
  destination: Destination;
  checked: boolean;
  onChange(on: boolean): void;
}) {
  const d = props.destination;
  return (
    <CheckboxField
      label={
        <>
          {d.name} <span className={`kind-tag kind-${d.kind}`}>{kindName[d.kind]}</span>
        </>
      }
      hint={
        <>
          <span className="mono">{whereOf(d)}</span>
          {d.encrypted ? ' · encrypted' : ''}
          {d.organizationId === null ? ' · platform-wide' : ''}
          {d.health.status === 'failed' ? (
            <span className="health-warning" data-testid="destination-health-warning">
              {' '}
              · its last connection test failed: copies there will fail until it is fixed
            </span>
          ) : null}
        </>
      }
      checked={props.checked}
      onChange={props.onChange}
    />
  );
}
