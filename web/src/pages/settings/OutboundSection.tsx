import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { outboundSettingsQuery, queryKeys } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { useToast } from '../../components/Toast';

/**
 * Platform admins: which internal address ranges S3 endpoints, SFTP hosts and git remotes may use.
 * Without one, Marina refuses loopback, private, link-local and its own ports.
 */
export function OutboundSection() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const loaded = useQuery(outboundSettingsQuery());
  const [text, setText] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (loaded.data) {
      setText(loaded.data.allowedRanges.join('\n'));
      setSaved(loaded.data.allowedRanges);
    }
  }, [loaded.data]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const allowedRanges = (text ?? '')
        .split(/[\s,]+/)
        .map((r) => r.trim())
        .filter((r) => r.length > 0);
      const answer = await call(api.PUT('/api/v1/settings/outbound', { body: { allowedRanges } }));
      setText(answer.outbound.allowedRanges.join('\n'));
      setSaved(answer.outbound.allowedRanges);
      queryClient.setQueryData(queryKeys.settings.outbound, answer.outbound);
      toast.success(
        answer.outbound.allowedRanges.length ? 'The allowed ranges are saved.' : 'No internal range is allowed now.',
      );
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" aria-label="Outbound connections">
      <header className="card-header">
        <div>
          <h2 className="title-with-badge">
            Outbound connections{' '}
            {saved.length ? <Badge tone="amber">{saved.length} internal range(s) allowed</Badge> : null}
          </h2>
          <p className="card-subtitle">
            S3 endpoints, SFTP hosts and git remotes are refused when they name a loopback, private, link-local (cloud
            metadata), carrier-grade NAT or multicast address, or one of Marina’s own ports — unless the address is in a
            range allowed here. Marina connects to the very address it checked.
          </p>
        </div>
      </header>
      <div className="card-body">
        {loaded.error ? <Alert kind="error">{errorMessage(loaded.error)}</Alert> : null}
        {text === undefined && !loaded.error ? <Loading /> : null}
        {text !== undefined ? (
          <form className="form" onSubmit={submit} noValidate aria-label="Allowed internal ranges">
            <FormError error={error} fields={[]} />
            <Field
              label="Allowed internal ranges"
              hint={
                <>
                  One CIDR range per line, such as <code>10.20.0.0/16</code> for a MinIO on your network. Every
                  organization may then point destinations and repositories there. Marina’s own ports stay refused.
                </>
              }
              optional
            >
              {(props) => (
                <textarea
                  {...props}
                  className="mono"
                  rows={4}
                  spellCheck={false}
                  value={text}
                  onChange={(e) => setText(e.target.value)}
                />
              )}
            </Field>
            <div className="form-actions form-actions-start">
              <button type="submit" className="btn btn-primary" disabled={busy}>
                Save ranges
              </button>
            </div>
          </form>
        ) : null}
      </div>
    </section>
  );
}
