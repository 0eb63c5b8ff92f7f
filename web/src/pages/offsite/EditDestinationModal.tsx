import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import type { Destination, DestinationChanges, DestinationTest } from '../../api/types';
import { CheckboxField } from '../../components/ChoiceCard';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { Modal } from '../../components/Modal';
import { fieldErrorsOf, kindName } from './parts';
import { failedTestOf, SaveTestFailure } from './SaveTest';

const FIELDS = ['name', 'endpoint', 'region', 'bucket', 'prefix', 'accessKeyId', 'secretAccessKey'];
const SFTP_FIELDS = ['host', 'port', 'username', 'folder', 'password', 'privateKey'];
const ALL_FIELDS = [...FIELDS, ...SFTP_FIELDS].flatMap((f) => [f, `s3.${f}`, `sftp.${f}`]);
const KEEP = 'Leave empty to keep the stored one.';

/**
 * "Edit": a destination's name and connection. Secrets are never shown: left empty, the stored ones
 * are kept. Saving tests the connection again, as adding did; the encryption cannot change.
 */
export function EditDestinationModal({
  destination,
  onClose,
  onSaved,
}: {
  destination: Destination;
  onClose(): void;
  onSaved(destination: Destination, test: DestinationTest): void;
}) {
  const [name, setName] = useState(destination.name);
  const [s3, setS3] = useState({
    endpoint: destination.s3?.endpoint ?? '',
    region: destination.s3?.region ?? 'us-east-1',
    bucket: destination.s3?.bucket ?? '',
    prefix: destination.s3?.prefix ?? '',
    forcePathStyle: destination.s3?.forcePathStyle ?? false,
    accessKeyId: destination.s3?.accessKeyId ?? '',
    secretAccessKey: '',
  });
  const [sftp, setSftp] = useState({
    host: destination.sftp?.host ?? '',
    port: String(destination.sftp?.port ?? 22),
    username: destination.sftp?.username ?? '',
    folder: destination.sftp?.folder ?? '',
    password: '',
    privateKey: '',
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errors = fieldErrorsOf(error, {});
  const failedTest = failedTestOf(error);

  function changes(): DestinationChanges {
    if (destination.kind === 's3')
      return {
        name: name.trim(),
        s3: {
          endpoint: s3.endpoint.trim() || null,
          region: s3.region.trim() || 'us-east-1',
          bucket: s3.bucket.trim(),
          prefix: s3.prefix.trim(),
          forcePathStyle: s3.forcePathStyle,
          accessKeyId: s3.accessKeyId.trim(),
          ...(s3.secretAccessKey ? { secretAccessKey: s3.secretAccessKey } : {}),
        },
      };
    return {
      name: name.trim(),
      sftp: {
        host: sftp.host.trim(),
        port: Number(sftp.port) || 22,
        username: sftp.username.trim(),
        folder: sftp.folder.trim(),
        ...(sftp.password ? { password: sftp.password } : {}),
        ...(sftp.privateKey.trim() ? { privateKey: sftp.privateKey.trim() } : {}),
      },
    };
  }

  async function submit(event?: FormEvent, saveAnyway = false) {
    event?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const answer = await call(
        api.PATCH('/api/v1/destinations/{id}', {
          params: { path: { id: destination.id } },
          body: { ...changes(), ...(saveAnyway ? { saveAnyway } : {}) },
        }),
      );
      onSaved(answer.destination, answer.test);
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const text = <T extends Record<string, unknown>>(state: T, set: (next: T) => void, key: keyof T & string) => ({
    value: String(state[key]),
    onChange: (e: { target: { value: string } }) => set({ ...state, [key]: e.target.value }),
  });

  return (
    <Modal
      title={`Edit ${destination.name}`}
      description={`${kindName[destination.kind]} destination${destination.encrypted ? ', encrypted (the encryption cannot change)' : ''}. The connection is tested again before saving.`}
      onClose={onClose}
      width="wide"
    >
      <form className="form destination-form" onSubmit={submit} noValidate aria-label="Edit destination">
        <Field label="Name" error={errors.name}>
          {(props) => (
            <input {...props} required autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />
          )}
        </Field>
        {destination.kind === 's3' ? (
          <>
            <div className="form-grid">
              <Field label="Endpoint" optional hint="Leave empty for AWS." error={errors.endpoint}>
                {(props) => <input {...props} type="url" autoComplete="off" {...text(s3, setS3, 'endpoint')} />}
              </Field>
              <Field label="Region" error={errors.region}>
                {(props) => <input {...props} autoComplete="off" {...text(s3, setS3, 'region')} />}
              </Field>
              <Field label="Bucket" error={errors.bucket}>
                {(props) => <input {...props} autoComplete="off" {...text(s3, setS3, 'bucket')} />}
              </Field>
              <Field label="Prefix" optional error={errors.prefix}>
                {(props) => <input {...props} autoComplete="off" {...text(s3, setS3, 'prefix')} />}
              </Field>
              <Field label="Access key ID" error={errors.accessKeyId}>
                {(props) => (
                  <input {...props} autoComplete="off" className="mono" {...text(s3, setS3, 'accessKeyId')} />
                )}
              </Field>
              <Field label="Secret access key" optional hint={KEEP} error={errors.secretAccessKey}>
                {(props) => (
                  <input
                    {...props}
                    type="password"
                    autoComplete="new-password"
                    {...text(s3, setS3, 'secretAccessKey')}
                  />
                )}
              </Field>
            </div>
            <CheckboxField
              label="Path-style addressing"
              hint="Needed by MinIO and most self-hosted servers."
              checked={s3.forcePathStyle}
              onChange={(forcePathStyle) => setS3({ ...s3, forcePathStyle })}
            />
          </>
        ) : (
          <div className="form-grid">
            <Field label="Host" hint="Another server has its host key pinned again." error={errors.host}>
              {(props) => <input {...props} autoComplete="off" {...text(sftp, setSftp, 'host')} />}
            </Field>
            <Field label="Port" error={errors.port}>
              {(props) => <input {...props} type="number" inputMode="numeric" {...text(sftp, setSftp, 'port')} />}
            </Field>
            <Field label="User" error={errors.username}>
              {(props) => <input {...props} autoComplete="off" {...text(sftp, setSftp, 'username')} />}
            </Field>
            <Field label="Folder" optional error={errors.folder}>
              {(props) => <input {...props} autoComplete="off" {...text(sftp, setSftp, 'folder')} />}
            </Field>
            <Field label="Password" optional hint={KEEP} error={errors.password}>
              {(props) => (
                <input {...props} type="password" autoComplete="new-password" {...text(sftp, setSftp, 'password')} />
              )}
            </Field>
            <Field label="Private key" optional hint={KEEP} error={errors.privateKey}>
              {(props) => (
                <textarea
                  {...props}
                  className="mono key-input"
                  rows={3}
                  spellCheck={false}
                  {...text(sftp, setSftp, 'privateKey')}
                />
              )}
            </Field>
          </div>
        )}
        {failedTest ? (
          <SaveTestFailure test={failedTest} busy={busy} onSaveAnyway={() => void submit(undefined, true)} />
        ) : (
          <FormError error={error} fields={ALL_FIELDS} />
        )}
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || name.trim() === ''}>
            {busy ? 'Testing and saving…' : 'Test and save'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
