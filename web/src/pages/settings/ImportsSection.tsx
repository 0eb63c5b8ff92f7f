import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { limits } from '../../api/limits';
import { importSettingsQuery, queryKeys } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { useToast } from '../../components/Toast';
import { fieldErrorsOf } from '../offsite/parts';

const GIB = 1024 ** 3;
const FIELDS = ['maxUncompressedBytes', 'maxEntries', 'maxCompressionRatio'];

/** Platform admins: what an imported zip may hold, checked before anything is written. */
export function ImportsSection() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const loaded = useQuery(importSettingsQuery());
  const [size, setSize] = useState('');
  const [entries, setEntries] = useState('');
  const [ratio, setRatio] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const errors = fieldErrorsOf(error);

  useEffect(() => {
    if (!loaded.data) return;
    setSize(String(Math.round((loaded.data.maxUncompressedBytes / GIB) * 100) / 100));
    setEntries(String(loaded.data.maxEntries));
    setRatio(String(loaded.data.maxCompressionRatio));
  }, [loaded.data]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = {
        maxUncompressedBytes: Math.round(Number(size) * GIB),
        maxEntries: Number(entries),
        maxCompressionRatio: Number(ratio),
      };
      await call(api.PUT('/api/v1/settings/imports', { body }));
      // Stale for the next visit; not fetched now, which would rewrite what was just typed.
      void queryClient.invalidateQueries({ queryKey: queryKeys.settings.imports, refetchType: 'none' });
      toast.success('Import limits saved.');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card card-flush" aria-label="Imports">
      <header className="card-header">
        <div>
          <h2>Imports</h2>
          <p className="card-subtitle">
            Every imported zip is checked against these limits from its directory, then again while it is read — before
            anything is written. One import at a time per organization.
          </p>
        </div>
      </header>
      <div className="card-body">
        {loaded.error ? <Alert kind="error">{errorMessage(loaded.error)}</Alert> : null}
        {!loaded.data && !loaded.error ? <Loading /> : null}
        {loaded.data ? (
          <form className="form" onSubmit={submit} noValidate aria-label="Import limits">
            <FormError error={error} fields={FIELDS} />
            <div className="form-grid">
              <Field label="Largest inflated size (GiB)" error={errors.maxUncompressedBytes}>
                {(props) => (
                  <input
                    {...props}
                    type="number"
                    min={limits.importMaxBytes.min / GIB}
                    max={limits.importMaxBytes.max / GIB}
                    step="any"
                    inputMode="decimal"
                    value={size}
                    onChange={(e) => setSize(e.target.value)}
                  />
                )}
              </Field>
              <Field label="Most files" error={errors.maxEntries}>
                {(props) => (
                  <input
                    {...props}
                    type="number"
                    min={limits.importMaxEntries.min}
                    max={limits.importMaxEntries.max}
                    inputMode="numeric"
                    value={entries}
                    onChange={(e) => setEntries(e.target.value)}
                  />
                )}
              </Field>
            </div>
            <Field
              label="Highest compression ratio"
              hint="How many times a file over 1 MiB, or the whole archive, may inflate over its stored size. A database dump compresses about 8:1; a zip bomb 1000:1."
              error={errors.maxCompressionRatio}
            >
              {(props) => (
                <input
                  {...props}
                  type="number"
                  min={limits.importMaxRatio.min}
                  max={limits.importMaxRatio.max}
                  inputMode="numeric"
                  value={ratio}
                  onChange={(e) => setRatio(e.target.value)}
                />
              )}
            </Field>
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={busy}>
                Save limits
              </button>
            </div>
          </form>
        ) : null}
      </div>
    </section>
  );
}
