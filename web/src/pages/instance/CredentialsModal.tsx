import { useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError, errorMessage } from '../../api/errors';
import type { Instance, RevealedCredentials } from '../../api/types';
import { Alert } from '../../components/Alert';
import { CopyField } from '../../components/CopyField';
import { Loading } from '../../components/EmptyState';
import { Modal } from '../../components/Modal';

/** Reveals the instance's passwords: asked afresh each time, since revealing them is audited. */
export function CredentialsModal({ instance, onClose }: { instance: Instance; onClose(): void }) {
  const [credentials, setCredentials] = useState<RevealedCredentials | null>(null);
  const [error, setError] = useState<unknown>(null);
  const id = instance.id;
  useEffect(() => {
    call(api.POST('/api/v1/instances/{id}/credentials', { params: { path: { id } } })).then(
      (answer) => setCredentials(answer.credentials),
      setError,
    );
  }, [id]);
  const forbidden = error instanceof ApiError && error.status === 403;
  return (
    <Modal
      title="Instance credentials"
      description={`Who can sign in to ${instance.name} as its administrator. Revealing them is recorded in the audit log.`}
      onClose={onClose}
      width="wide"
    >
      {forbidden ? (
        <Alert kind="info" title="Only admins can see these">
          Organization owners and admins, and platform administrators, can reveal an instance’s passwords. Ask one of
          them.
        </Alert>
      ) : error ? (
        <Alert kind="error">{errorMessage(error)}</Alert>
      ) : null}
      {!credentials && !error ? <Loading /> : null}
      {credentials ? (
        <div className="credentials">
          {credentials.url ? (
            <>
              <span className="stat-label">Address</span>
              <CopyField label="Instance address" value={credentials.url} />
            </>
          ) : null}
          <span className="stat-label">Administrator login</span>
          <CopyField label="Administrator login" value={credentials.login} />
          <span className="stat-label">Administrator password</span>
          <CopyField label="Administrator password" value={credentials.password} />
          <span className="stat-label">Master password</span>
          <CopyField label="Master password" value={credentials.masterPassword} />
          <p className="field-hint">The master password manages Odoo databases (backup, restore); keep it private.</p>
        </div>
      ) : null}
      <div className="form-actions">
        <button type="button" className="btn btn-primary" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}
