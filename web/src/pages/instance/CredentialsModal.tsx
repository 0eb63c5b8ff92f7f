import { useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { ApiError, errorMessage } from '../../api/errors';
import type { Instance, RevealedCredentials } from '../../api/types';
import { Alert } from '../../components/Alert';
import { CopyField } from '../../components/CopyField';
import { Loading } from '../../components/EmptyState';
import { Modal } from '../../components/Modal';
import { originSentence, ResetAdminPassword, UnknownPassword } from './AdminPassword';

/** Reveals the instance's passwords: asked afresh each time, since revealing them is audited. */
export function CredentialsModal({ instance, onClose }: { instance: Instance; onClose(): void }) {
  const [credentials, setCredentials] = useState<RevealedCredentials | null>(null);
  const [error, setError] = useState<unknown>(null);
  // Set once a reset in this dialog gave the administrator a new password.
  const [reset, setReset] = useState(false);
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
          {credentials.password !== null ? (
            <CopyField label="Administrator password" value={credentials.password} />
          ) : (
            <UnknownPassword origin={credentials.origin} login={credentials.login} />
          )}
          <p className="credentials-origin" data-testid="credentials-origin">
            {originSentence(credentials.origin)}
          </p>
          {reset ? (
            <Alert kind="success" title="New password set">
              {credentials.login} now signs in with the password above; the old one no longer works.
            </Alert>
          ) : null}
          <ResetAdminPassword
            instance={instance}
            onReset={(fresh) => {
              setCredentials(fresh);
              setReset(true);
            }}
          />
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
