import { type FormEvent, useState } from 'react';
import { api, call } from '../../api/client';
import { limits } from '../../api/limits';
import type { Destination, DestinationTest, NewDestination } from '../../api/types';
import { Alert } from '../../components/Alert';
import { CheckboxField, ChoiceCard } from '../../components/ChoiceCard';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { NameField } from '../../components/FormFields';
import { Modal } from '../../components/Modal';
import { fieldErrorsOf } from './parts';
import { failedTestOf, SaveTestFailure } from './SaveTest';

const FIELDS = [
  'name',
  'organizationId',
  'endpoint',
  'region',
  'bucket',
  'prefix',
  'forcePathStyle',
  'accessKeyId',
  'secretAccessKey',
  'host',
  'port',
  'username',
  'folder',
  'hostKeyFingerprint',
  'privateKey',
  'privateKeyPassphrase',
  'password',
  'encryption',
  'passphrase',
];
/** The same names as the schema checks spell them, nested. */
const ALL_FIELDS = [...FIELDS, ...FIELDS.flatMap((f) => [`s3.${f}`, `sftp.${f}`, `encryption.${f}`])];

export interface OwnerChoice {
  /** null: platform-wide, every organization may copy to it. */
  id: string | null;
  label: string;
}

type Auth = 'key' | 'password';

/** "Add destination": an S3-compatible bucket or an SFTP server, its secrets, optional encryption. */
export function AddDestinationModal({
  owners,
  onClose,
  onAdded,
}: {
  owners: OwnerChoice[];
  onClose(): void;
  /** With the connection test that ran before it was saved. */
  onAdded(destination: Destination, test: DestinationTest): void;
}) {
  const [owner, setOwner] = useState<string>(owners[0]?.id ?? '');
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'s3' | 'sftp'>('s3');
  const [s3, setS3] = useState({
    endpoint: '',
    region: 'us-east-1',
    bucket: '',
    prefix: '',
    forcePathStyle: false,
    accessKeyId: '',
    secretAccessKey: '',
  });
  const [sftp, setSftp] = useState({
    host: '',
    port: '22',
    username: '',
    folder: '',
    hostKeyFingerprint: '',
    privateKey: '',
    privateKeyPassphrase: '',
    password: '',
  });
  const [auth, setAuth] = useState<Auth>('key');
  const [encrypt, setEncrypt] = useState(false);
  const [passphrase, setPassphrase] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const errors = fieldErrorsOf(error, { passphrase: 'encryption' });
  const mismatch = encrypt && repeat !== '' && repeat !== passphrase;
  const ready =
    name.trim() !== '' &&
    (kind === 's3'
      ? s3.bucket.trim() !== '' && s3.accessKeyId.trim() !== '' && s3.secretAccessKey !== ''
      : sftp.host.trim() !== '' &&
        sftp.username.trim() !== '' &&
        (auth === 'key' ? sftp.privateKey.trim() !== '' : sftp.password !== '')) &&
    (!encrypt || (passphrase.length >= limits.passphrase.minLength && passphrase === repeat));

  function body(): NewDestination {
    const base = {
      organizationId: owner === '' ? null : owner,
      name: name.trim(),
      kind,
      ...(encrypt ? { encryption: { passphrase } } : {}),
    };
    if (kind === 's3') {
      return {
        ...base,
        s3: {
          endpoint: s3.endpoint.trim() || null,
          region: s3.region.trim() || 'us-east-1',
          bucket: s3.bucket.trim(),
          prefix: s3.prefix.trim(),
          forcePathStyle: s3.forcePathStyle,
          accessKeyId: s3.accessKeyId.trim(),
          secretAccessKey: s3.secretAccessKey,
        },
      };
    }
    return {
      ...base,
      sftp: {
        host: sftp.host.trim(),
        port: Number(sftp.port) || 22,
        username: sftp.username.trim(),
        folder: sftp.folder.trim(),
        ...(sftp.hostKeyFingerprint.trim() ? { hostKeyFingerprint: sftp.hostKeyFingerprint.trim() } : {}),
        ...(auth === 'key'
          ? {
              privateKey: sftp.privateKey.trim(),
              ...(sftp.privateKeyPassphrase ? { privateKeyPassphrase: sftp.privateKeyPassphrase } : {}),
            }
          : { password: sftp.password }),
      },
    };
  }

  const failedTest = failedTestOf(error);

  async function submit(event?: FormEvent, saveAnyway = false) {
    event?.preventDefault();
    if (!ready) return;
    setBusy(true);
    setError(null);
    try {
      // The server tests the connection first; a failing test refuses the save unless saveAnyway.
      const answer = await call(
        api.POST('/api/v1/destinations', { body: { ...body(), ...(saveAnyway ? { saveAnyway } : {}) } }),
      );
      onAdded(answer.destination, answer.test);
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const s3Input = (key: keyof typeof s3) => ({
    value: String(s3[key]),
    onChange: (e: { target: { value: string } }) => setS3({ ...s3, [key]: e.target.value }),
  });
  const sftpInput = (key: keyof typeof sftp) => ({
    value: sftp[key],
    onChange: (e: { target: { value: string } }) => setSftp({ ...sftp, [key]: e.target.value }),
  });

  return (
    <Modal
      title="Add destination"
      description="A place to copy backups to, away from this server: an S3-compatible bucket or an SFTP server."
      onClose={onClose}
      width="wide"
    >
      <form className="form destination-form" onSubmit={submit} noValidate>
        <div className="form-grid">
          <NameField
            hint="How schedules and badges call it, e.g. “b2-eu” or “storage box”."
            required
            maxLength={limits.destinationName.maxLength}
            autoComplete="off"
            value={name}
            onChange={setName}
            error={errors.name}
          />
          {owners.length > 1 ? (
            <Field
              label="For"
              hint="A platform-wide destination can be chosen by every organization."
              error={errors.organizationId}
            >
              {(props) => (
                <select {...props} value={owner} onChange={(e) => setOwner(e.target.value)}>
                  {owners.map((o) => (
                    <option key={o.id ?? ''} value={o.id ?? ''}>
                      {o.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          ) : null}
        </div>
        <fieldset className="choice-group">
          <legend>Kind</legend>
          <div className="choice-grid choice-grid-2">
            <ChoiceCard
              name="destination-kind"
              value="s3"
              checked={kind === 's3'}
              onChange={() => setKind('s3')}
              title="S3-compatible"
              hint="AWS S3, Backblaze B2, Wasabi, Cloudflare R2, MinIO, Scaleway, OVH…"
            />
            <ChoiceCard
              name="destination-kind"
              value="sftp"
              checked={kind === 'sftp'}
              onChange={() => setKind('sftp')}
              title="SFTP"
              hint="Any SSH server: a Hetzner Storage Box, rsync.net, a NAS or another VPS."
            />
          </div>
        </fieldset>
        {kind === 's3' ? (
          <>
            <div className="form-grid">
              <Field
                label="Endpoint"
                optional
                hint="Leave empty for AWS. Otherwise https://…, e.g. https://s3.eu-central-003.backblazeb2.com"
                error={errors.endpoint}
              >
                {(props) => <input {...props} type="url" autoComplete="off" {...s3Input('endpoint')} />}
              </Field>
              <Field label="Region" error={errors.region}>
                {(props) => <input {...props} autoComplete="off" {...s3Input('region')} />}
              </Field>
              <Field label="Bucket" error={errors.bucket}>
                {(props) => <input {...props} required autoComplete="off" {...s3Input('bucket')} />}
              </Field>
              <Field label="Prefix" optional hint="A folder inside the bucket, e.g. marina/acme." error={errors.prefix}>
                {(props) => <input {...props} autoComplete="off" {...s3Input('prefix')} />}
              </Field>
            </div>
            <CheckboxField
              label="Path-style addressing"
              hint="https://endpoint/bucket/… instead of https://bucket.endpoint/…: needed by MinIO and most self-hosted servers."
              checked={s3.forcePathStyle}
              onChange={(forcePathStyle) => setS3({ ...s3, forcePathStyle })}
            />
            <div className="form-grid">
              <Field label="Access key ID" error={errors.accessKeyId}>
                {(props) => (
                  <input {...props} required autoComplete="off" className="mono" {...s3Input('accessKeyId')} />
                )}
              </Field>
              <Field
                label="Secret access key"
                hint="Stored encrypted; never shown again."
                error={errors.secretAccessKey}
              >
                {(props) => (
                  <input
                    {...props}
                    type="password"
                    required
                    autoComplete="new-password"
                    {...s3Input('secretAccessKey')}
                  />
                )}
              </Field>
            </div>
          </>
        ) : (
          <>
            <div className="form-grid form-grid-host">
              <Field label="Host" error={errors.host}>
                {(props) => <input {...props} required autoComplete="off" {...sftpInput('host')} />}
              </Field>
              <Field label="Port" error={errors.port}>
                {(props) => (
                  <input
                    {...props}
                    type="number"
                    min={limits.sftpPort.min}
                    max={limits.sftpPort.max}
                    inputMode="numeric"
                    {...sftpInput('port')}
                  />
                )}
              </Field>
              <Field label="User" error={errors.username}>
                {(props) => <input {...props} required autoComplete="off" {...sftpInput('username')} />}
              </Field>
              <Field
                label="Folder"
                optional
                hint="Relative to the user’s home folder, e.g. backups."
                error={errors.folder}
              >
                {(props) => <input {...props} autoComplete="off" {...sftpInput('folder')} />}
              </Field>
            </div>
            <fieldset className="choice-group">
              <legend>Sign in with</legend>
              <div className="segmented" role="radiogroup" aria-label="Sign in with">
                {(['key', 'password'] as const).map((a) => (
                  <label key={a} className={auth === a ? 'segment segment-on' : 'segment'}>
                    <input type="radio" name="sftp-auth" checked={auth === a} onChange={() => setAuth(a)} />
                    {a === 'key' ? 'Private key' : 'Password'}
                  </label>
                ))}
              </div>
            </fieldset>
            {auth === 'key' ? (
              <>
                <Field
                  label="Private key"
                  hint="The whole OpenSSH or PEM private key. Stored encrypted; never shown again."
                  error={errors.privateKey}
                >
                  {(props) => (
                    <textarea
                      {...props}
                      className="mono key-input"
                      rows={5}
                      spellCheck={false}
                      autoComplete="off"
                      placeholder="-----BEGIN OPENSSH PRIVATE KEY-----"
                      {...sftpInput('privateKey')}
                    />
                  )}
                </Field>
                <Field label="Key passphrase" optional error={errors.privateKeyPassphrase}>
                  {(props) => (
                    <input
                      {...props}
                      type="password"
                      autoComplete="new-password"
                      {...sftpInput('privateKeyPassphrase')}
                    />
                  )}
                </Field>
              </>
            ) : (
              <Field label="Password" hint="Stored encrypted; never shown again." error={errors.password}>
                {(props) => <input {...props} type="password" autoComplete="new-password" {...sftpInput('password')} />}
              </Field>
            )}
            <Field
              label="Host key fingerprint"
              optional
              hint="SHA256:… as ssh-keygen -lf prints it. Left empty, the key the server shows at the first connection test is pinned."
              error={errors.hostKeyFingerprint}
            >
              {(props) => <input {...props} className="mono" autoComplete="off" {...sftpInput('hostKeyFingerprint')} />}
            </Field>
          </>
        )}
        <div className="encrypt-box">
          <CheckboxField
            label="Encrypt the copies"
            hint="Marina encrypts each backup (AES-256-GCM) before it leaves this server: the storage provider only sees ciphertext."
            checked={encrypt}
            onChange={setEncrypt}
          />
          {encrypt ? (
            <>
              <Alert kind="warning" title="Keep this passphrase safe">
                If the passphrase is lost, the copies at this destination can never be read again — not by Marina, not
                by anyone. Store it in your password manager now.
              </Alert>
              <div className="form-grid">
                <Field
                  label="Encryption passphrase"
                  hint={`At least ${limits.passphrase.minLength} characters.`}
                  error={errors.encryption}
                >
                  {(props) => (
                    <input
                      {...props}
                      type="password"
                      autoComplete="new-password"
                      value={passphrase}
                      onChange={(e) => setPassphrase(e.target.value)}
                    />
                  )}
                </Field>
                <Field label="Repeat the passphrase" error={mismatch ? 'The two passphrases differ.' : undefined}>
                  {(props) => (
                    <input
                      {...props}
                      type="password"
                      autoComplete="new-password"
                      value={repeat}
                      onChange={(e) => setRepeat(e.target.value)}
                    />
                  )}
                </Field>
              </div>
            </>
          ) : null}
        </div>
        {failedTest ? (
          <SaveTestFailure test={failedTest} busy={busy} onSaveAnyway={() => void submit(undefined, true)} />
        ) : (
          <FormError error={error} fields={ALL_FIELDS} />
        )}
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || !ready}>
            {busy ? 'Testing and adding…' : 'Add destination'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
