import { type FormEvent, useState } from 'react';
import { ApiError } from '../../api/errors';
import { ChoiceCard } from '../../components/ChoiceCard';
import { CodeField, Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { SlugField } from '../../components/FormFields';
import { Modal } from '../../components/Modal';
import { PemField } from '../../components/PemField';
import type { NewNode } from './api';

const NAME_MAX = 40;
const FIELDS = [
  'name',
  'dockerHost',
  'address',
  'role',
  'tls',
  'tls.ca',
  'tls.cert',
  'tls.key',
  'ssh',
  'ssh.privateKey',
  'ssh.hostKeyFingerprint',
] as const;

/** How Marina reaches the engine: TCP with mutual TLS, or SSH (`docker system dial-stdio` on the host). */
type Transport = 'tls' | 'ssh';

const ADDRESS = {
  tls: { placeholder: 'tcp://10.0.0.2:2376', hint: "The engine's TCP address with mutual TLS (dockerd --tlsverify)." },
  ssh: {
    placeholder: 'ssh://marina@10.0.0.12',
    hint: 'ssh://<user>@<address>[:<port>]: Marina signs in as that user and runs docker there.',
  },
} as const;

/**
 * A host for the cluster: a Docker engine on TCP with mutual TLS, or reached over SSH. The first
 * host makes the Swarm and is its manager; the others join as workers unless asked to be managers.
 */
export function AddNodeForm({
  firstNode,
  onSave,
  onClose,
}: {
  /** No host is in the cluster yet: this one becomes its manager, whatever the role says. */
  firstNode: boolean;
  onSave(input: NewNode): Promise<void>;
  onClose(): void;
}) {
  const [transport, setTransport] = useState<Transport>('tls');
  const [name, setName] = useState('');
  const [dockerHost, setDockerHost] = useState('');
  const [address, setAddress] = useState('');
  const [role, setRole] = useState<'worker' | 'manager'>('worker');
  const [ca, setCa] = useState('');
  const [cert, setCert] = useState('');
  const [key, setKey] = useState('');
  const [privateKey, setPrivateKey] = useState('');
  const [fingerprint, setFingerprint] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors : {};
  const access =
    transport === 'tls'
      ? Boolean(ca.trim() && cert.trim() && key.trim())
      : Boolean(privateKey.trim() && fingerprint.trim());

  /** An answer about the other way's fields would name fields no longer shown. */
  function choose(next: Transport) {
    setTransport(next);
    setError(null);
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSave({
        name: name.trim(),
        dockerHost: dockerHost.trim(),
        // Only what goes with the chosen way in: the API refuses tls with an ssh:// address and the reverse.
        ...(transport === 'tls'
          ? { tls: { ca, cert, key } }
          : { ssh: { privateKey, hostKeyFingerprint: fingerprint.trim() } }),
        ...(address.trim() ? { address: address.trim() } : {}),
        ...(firstNode ? {} : { role }),
      });
      onClose();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  return (
    <Modal
      title="Add a host"
      description="Marina reaches the host's Docker engine on TCP with mutual TLS or over SSH, and makes it a node of the cluster."
      onClose={onClose}
      width="wide"
    >
      <form className="form" onSubmit={submit} noValidate aria-label="Add a host">
        <FormError error={error} fields={FIELDS} />
        <fieldset className="choice-group">
          <legend>Connection</legend>
          <div className="choice-grid choice-grid-2">
            <ChoiceCard
              name="node-transport"
              value="tls"
              checked={transport === 'tls'}
              onChange={() => choose('tls')}
              title="TCP with mutual TLS"
              hint="The engine listens on a TCP port (dockerd --tlsverify); Marina shows a client certificate."
            />
            <ChoiceCard
              name="node-transport"
              value="ssh"
              checked={transport === 'ssh'}
              onChange={() => choose('ssh')}
              title="SSH"
              hint="Marina signs in with a key and runs docker on the host; the engine stays on its socket."
            />
          </div>
        </fieldset>
        <div className="node-form-grid">
          <SlugField
            label="Name"
            required
            lowercase
            maxLength={NAME_MAX}
            hint="Lowercase letters, digits and dashes; it names the node in Marina and in Swarm."
            value={name}
            onChange={setName}
            error={fieldErrors.name}
          />
          <CodeField
            label="Engine address"
            hint={ADDRESS[transport].hint}
            placeholder={ADDRESS[transport].placeholder}
            value={dockerHost}
            onChange={setDockerHost}
            error={fieldErrors.dockerHost}
          />
          <CodeField
            label="Cluster address"
            optional
            hint="Where the other nodes reach this one; by default the engine's address."
            placeholder={transport === 'tls' ? '10.0.0.2' : '10.0.0.12'}
            value={address}
            onChange={setAddress}
            error={fieldErrors.address}
          />
          {firstNode ? (
            <Field label="Role" hint="The first host makes the cluster and is its manager.">
              {(props) => <input {...props} readOnly value="manager" />}
            </Field>
          ) : (
            <Field
              label="Role"
              hint="Managers keep the cluster's state: keep 1 or 3 of them (at most 3)."
              error={fieldErrors.role}
            >
              {(props) => (
                <select {...props} value={role} onChange={(e) => setRole(e.target.value as 'worker' | 'manager')}>
                  <option value="worker">worker</option>
                  <option value="manager">manager</option>
                </select>
              )}
            </Field>
          )}
        </div>
        {transport === 'tls' ? (
          <>
            <PemField
              rows={4}
              label="CA certificate"
              hint="The CA that signed the engine's certificate (ca.pem)."
              marker="CERTIFICATE"
              value={ca}
              onChange={setCa}
              error={fieldErrors['tls.ca']}
            />
            <div className="node-form-grid">
              <PemField
                rows={4}
                label="Client certificate"
                hint="Marina's certificate, signed by that CA (cert.pem)."
                marker="CERTIFICATE"
                value={cert}
                onChange={setCert}
                error={fieldErrors['tls.cert']}
              />
              <PemField
                rows={4}
                label="Client key"
                hint="The client certificate's private key (key.pem); stored encrypted."
                marker="PRIVATE KEY"
                value={key}
                onChange={setKey}
                error={fieldErrors['tls.key']}
              />
            </div>
          </>
        ) : (
          <>
            <PemField
              rows={4}
              anyFile
              label="Private key"
              hint={
                <>
                  An OpenSSH key without a passphrase, kept for Marina alone, whose public half is in the user's{' '}
                  <code>~/.ssh/authorized_keys</code> on the host; stored encrypted.
                </>
              }
              marker="OPENSSH PRIVATE KEY"
              value={privateKey}
              onChange={setPrivateKey}
              error={fieldErrors['ssh.privateKey']}
            />
            <CodeField
              label="Host key fingerprint"
              hint={
                <>
                  On the host, <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> prints it; Marina refuses a
                  host that shows another key. The user must be able to run <code>docker</code> there (a member of the
                  docker group).
                </>
              }
              placeholder="SHA256:…"
              value={fingerprint}
              onChange={setFingerprint}
              error={fieldErrors['ssh.hostKeyFingerprint']}
            />
          </>
        )}
        <div className="form-actions">
          <button type="button" className="btn btn-secondary" onClick={onClose}>
            Cancel
          </button>
          <button
            type="submit"
            className="btn btn-primary"
            disabled={busy || !name.trim() || !dockerHost.trim() || !access}
          >
            {busy ? 'Adding… (joining the cluster)' : 'Add host'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
