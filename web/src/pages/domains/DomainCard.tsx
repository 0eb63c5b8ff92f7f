import { useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Badge, type BadgeTone } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { RefreshIcon } from '../../components/icons';
import { useToast } from '../../components/Toast';
import { formatDateTime, formatRelative } from '../../format';
import { useNow } from '../../live';
import { type Domain, type DomainStatus, domainsApi } from './api';
import { CertificateDialog, CertificateFacts } from './CertificateParts';
import { CopyButton } from './CopyButton';
import { compareRecords, methodLabel, type RecordCheck } from './records';

const statusTone: Record<DomainStatus, BadgeTone> = { pending: 'amber', verified: 'green', failed: 'red' };

export function DomainStatusBadge({ status }: { status: DomainStatus }) {
  return (
    <span
      className={`badge badge-${statusTone[status]} status-badge${status === 'pending' ? ' status-transitional' : ''}`}
      data-testid="domain-status"
      data-status={status}
    >
      <span className="status-dot" aria-hidden="true" />
      {status}
    </span>
  );
}

const statusLine: Record<DomainStatus, string> = {
  pending: 'Waiting for DNS: create the records below at your DNS provider. Marina checks again on its own.',
  verified: 'DNS points here: the domain is routed to this instance.',
  failed: 'Marina stopped checking: DNS did not show the records. Fix them, then check now.',
};

/** One custom domain: its state, the records to create beside what DNS answered, its certificate. */
export function DomainCard({
  domain,
  isAdmin,
  onChanged,
}: {
  domain: Domain;
  isAdmin: boolean;
  onChanged(): Promise<void>;
}) {
  const toast = useToast();
  const now = new Date(useNow(15_000));
  const [checking, setChecking] = useState(false);
  const [confirming, setConfirming] = useState<'remove' | 'primary' | 'remove-certificate' | null>(null);
  const [uploading, setUploading] = useState(false);
  const checks = compareRecords(domain);

  async function checkNow() {
    setChecking(true);
    try {
      const { domain: checked } = await domainsApi.verify(domain.id);
      await onChanged();
      if (checked.status === 'verified') toast.success(`${checked.displayName} is verified.`);
      else toast.error(`${checked.displayName}: DNS does not show the records yet.`);
    } catch (caught) {
      toast.error(errorMessage(caught));
    } finally {
      setChecking(false);
    }
  }

  const named = domain.displayName !== domain.hostname;
  return (
    <article
      className="card domain-card"
      aria-label={domain.displayName}
      data-testid="domain"
      data-hostname={domain.hostname}
      data-status={domain.status}
    >
      <header className="card-header domain-head">
        <div className="domain-title">
          <h3>{domain.displayName}</h3>
          {named ? <span className="mono domain-ascii">{domain.hostname}</span> : null}
          <DomainStatusBadge status={domain.status} />
          {domain.isPrimary ? <Badge tone="teal">primary</Badge> : null}
          <Badge tone="gray">{methodLabel[domain.method]}</Badge>
        </div>
        <div className="domain-actions">
          <button type="button" className="btn btn-secondary btn-small" onClick={checkNow} disabled={checking}>
            <RefreshIcon width={14} height={14} />
            {checking ? 'Checking…' : 'Check now'}
          </button>
          {isAdmin && domain.status === 'verified' && !domain.isPrimary ? (
            <button type="button" className="btn btn-secondary btn-small" onClick={() => setConfirming('primary')}>
              Make primary
            </button>
          ) : null}
          {isAdmin ? (
            <button
              type="button"
              className="btn btn-secondary btn-small btn-danger-text"
              onClick={() => setConfirming('remove')}
            >
              Remove
            </button>
          ) : null}
        </div>
      </header>
      <div className="card-body domain-body">
        <p className="domain-status-line">{statusLine[domain.status]}</p>
        {domain.status !== 'verified' && domain.lastError ? (
          <p className="domain-dns-error" data-testid="domain-error">
            {domain.lastError}
          </p>
        ) : null}
        {domain.found?.error && domain.found.error !== domain.lastError ? (
          <p className="domain-dns-error" data-testid="dns-error">
            At the last check DNS said: {domain.found.error}
          </p>
        ) : null}
        <DataTable<RecordCheck>
          label={`DNS records for ${domain.displayName}`}
          className="table-compact dns-records"
          rows={checks}
          rowKey={(c) => `${c.expected.type} ${c.expected.name} ${c.expected.value}`}
          rowProps={(c) => ({ 'data-matches': c.matches === null ? 'unknown' : String(c.matches) })}
          columns={[
            { header: 'Type', cell: (c) => <span className="mono">{c.expected.type}</span> },
            {
              header: 'Name',
              cell: (c) => (
                <span className="dns-value">
                  <span className="mono">{c.expected.name}</span>
                  <CopyButton value={c.expected.name} label={`${c.expected.type} name`} />
                </span>
              ),
            },
            {
              header: 'Value',
              cell: (c) => (
                <span className="dns-value">
                  <span className="mono" data-testid="record-value">
                    {c.expected.value}
                  </span>
                  <CopyButton value={c.expected.value} label={`${c.expected.type} value`} />
                </span>
              ),
            },
            { header: 'DNS answered', cell: (c) => <Answered check={c} />, className: 'dns-answered' },
          ]}
        />
        <dl className="domain-facts">
          <div>
            <dt>Last check</dt>
            <dd data-testid="last-check">
              {domain.lastCheckAt ? (
                <span title={formatDateTime(domain.lastCheckAt)}>{formatRelative(domain.lastCheckAt, now)}</span>
              ) : (
                'not yet'
              )}
            </dd>
          </div>
          <div>
            <dt>Next check</dt>
            <dd>
              {domain.nextCheckAt ? (
                <span title={formatDateTime(domain.nextCheckAt)}>{formatRelative(domain.nextCheckAt, now)}</span>
              ) : (
                'none planned'
              )}
            </dd>
          </div>
          {domain.verifiedAt ? (
            <div>
              <dt>Verified</dt>
              <dd title={formatDateTime(domain.verifiedAt)}>{formatRelative(domain.verifiedAt, now)}</dd>
            </div>
          ) : null}
        </dl>
        <CertificateFacts
          domain={domain}
          isAdmin={isAdmin}
          onUpload={() => setUploading(true)}
          onRemove={() => setConfirming('remove-certificate')}
        />
      </div>
      {confirming === 'remove' ? (
        <ConfirmDialog
          title={`Remove ${domain.displayName}?`}
          confirmLabel="Remove domain"
          onClose={() => setConfirming(null)}
          onConfirm={async () => {
            await domainsApi.remove(domain.id);
            await onChanged();
            toast.success(`${domain.displayName} was removed.`);
          }}
        >
          <p>What goes with it:</p>
          <ul>
            <li>its route: {domain.displayName} no longer reaches this instance (visitors get "No site here");</li>
            <li>its certificate{domain.ownCertificate ? ', including the one you uploaded' : ''};</li>
            {domain.isPrimary ? <li>its primary role: the instance is addressed by its platform name again.</li> : null}
          </ul>
          <p>The DNS records at your provider stay: remove them there.</p>
        </ConfirmDialog>
      ) : null}
      {confirming === 'primary' ? (
        <ConfirmDialog
          title={`Make ${domain.displayName} primary?`}
          confirmLabel="Make primary"
          tone="primary"
          onClose={() => setConfirming(null)}
          onConfirm={async () => {
            await domainsApi.makePrimary(domain.id);
            await onChanged();
            toast.success(`${domain.displayName} is now the instance's address.`);
          }}
        >
          <p>
            The instance's address becomes https://{domain.displayName}: its other names redirect there, and Odoo's base
            URL (links in mails, reports) is set to it.
          </p>
        </ConfirmDialog>
      ) : null}
      {confirming === 'remove-certificate' ? (
        <ConfirmDialog
          title="Remove the uploaded certificate?"
          confirmLabel="Remove certificate"
          onClose={() => setConfirming(null)}
          onConfirm={async () => {
            await domainsApi.removeCertificate(domain.id);
            await onChanged();
          }}
        >
          <p>The proxy goes back to a certificate it obtains itself for {domain.displayName}.</p>
        </ConfirmDialog>
      ) : null}
      {uploading ? (
        <CertificateDialog domain={domain} onClose={() => setUploading(false)} onUploaded={onChanged} />
      ) : null}
    </article>
  );
}

function Answered({ check }: { check: RecordCheck }) {
  if (check.matches === null) return <span className="muted">not checked yet</span>;
  const mark = check.matches ? (
    <span className="dns-match">
      <span aria-hidden="true">✓</span>
      <span className="visually-hidden">matches:</span>
    </span>
  ) : (
    <span className="dns-mismatch">
      <span aria-hidden="true">✗</span>
      <span className="visually-hidden">does not match:</span>
    </span>
  );
  return (
    <span className="dns-found" data-testid="record-found">
      {mark}
      {check.answered.length === 0 ? (
        <span className="muted">nothing</span>
      ) : (
        <span className="dns-found-list">
          {check.answered.map((r) => (
            <span key={`${r.type} ${r.value}`} className="mono">
              {r.type} {r.value}
            </span>
          ))}
        </span>
      )}
    </span>
  );
}
