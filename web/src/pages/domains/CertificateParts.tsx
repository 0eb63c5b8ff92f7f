import { type FormEvent, useState } from 'react';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Modal } from '../../components/Modal';
import { PemField } from '../../components/PemField';
import { useToast } from '../../components/Toast';
import { formatDate, formatDateTime } from '../../format';
import { type CertificateState, type Domain, domainsApi } from './api';

const PEM_HINT = 'Paste it, or choose the file (.pem, .crt, .key).';

/** What the edge serves for a name, from its last TLS handshake: issuer and expiry, or why it failed. */
export function CertificateStateText({ state }: { state: CertificateState | null }) {
  if (!state) return <span className="muted">not checked yet</span>;
  if (state.error)
    return (
      <span className="certificate-error" data-testid="certificate-error">
        {state.error} <span className="muted">(checked {formatDateTime(state.checkedAt)})</span>
      </span>
    );
  return (
    <span data-testid="certificate-state">
      {state.issuer ? `Issued by ${state.issuer}` : 'Served'}
      {state.notAfter ? `, valid until ${formatDate(state.notAfter)}` : ''}
      <span className="muted"> (checked {formatDateTime(state.checkedAt)})</span>
    </span>
  );
}

export function CertificateFacts({
  domain,
  isAdmin,
  onUpload,
  onRemove,
}: {
  domain: Domain;
  isAdmin: boolean;
  onUpload(): void;
  onRemove(): void;
}) {
  const own = domain.ownCertificate;
  return (
    <section className="domain-certificate" aria-label={`Certificate of ${domain.displayName}`}>
      <h4>Certificate</h4>
      <p>
        <CertificateStateText state={domain.certificate} />
      </p>
      {own ? (
        <p data-testid="own-certificate">
          Uploaded certificate for {own.subject}, issued by {own.issuer}, valid until {formatDate(own.notAfter)}.
        </p>
      ) : (
        <p className="muted">The proxy obtains and renews a certificate itself once the domain is verified.</p>
      )}
      {isAdmin ? (
        <div className="domain-certificate-actions">
          <button type="button" className="btn btn-ghost btn-small" onClick={onUpload}>
            {own ? 'Replace certificate' : 'Upload certificate'}
          </button>
          {own ? (
            <button type="button" className="btn btn-ghost btn-small btn-danger-text" onClick={onRemove}>
              Remove uploaded certificate
            </button>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}

/** Two PEM texts, pasted or read from files; the server checks that they match and cover the name. */
export function CertificateDialog({
  domain,
  onClose,
  onUploaded,
}: {
  domain: Domain;
  onClose(): void;
  onUploaded(): Promise<void>;
}) {
  const toast = useToast();
  const [certificate, setCertificate] = useState('');
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await domainsApi.uploadCertificate(domain.id, { certificate, key });
      await onUploaded();
      toast.success(`The certificate for ${domain.displayName} is in place.`);
      onClose();
    } catch (caught) {
      setError(errorMessage(caught));
      setBusy(false);
    }
  }

  return (
    <Modal
      title={`Upload a certificate for ${domain.displayName}`}
      description="PEM text: the certificate (with its chain) and its private key. The key is stored encrypted."
      onClose={onClose}
      width="wide"
    >
      <form onSubmit={submit} className="certificate-form">
        <PemField
          label="Certificate (PEM)"
          hint={PEM_HINT}
          value={certificate}
          onChange={setCertificate}
          marker="CERTIFICATE"
        />
        <PemField label="Private key (PEM)" hint={PEM_HINT} value={key} onChange={setKey} marker="PRIVATE KEY" />
        {error ? <Alert kind="error">{error}</Alert> : null}
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !certificate.trim() || !key.trim()}>
            {busy ? 'Uploading…' : 'Upload certificate'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
