import { useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api, call } from '../../api/client';
import { ApiError, errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Loading } from '../../components/EmptyState';
import { Field } from '../../components/Field';
import { FormError } from '../../components/FormError';
import { useToast } from '../../components/Toast';
import { customerKeys, lifecycleSettingsQuery } from './api';
import '../../styles/customers.css';

const FIELDS = ['graceDays', 'finalBackupDays'] as const;

/**
 * Settings → Lifecycle (platform admins): how long a suspended customer keeps its stopped instances
 * before they are deleted, and how long the final backups of a deleted customer are kept; with the
 * ways to the plans, the sign-up and the list of customers.
 */
export function LifecycleSection({ onOpen }: { onOpen(tab: 'plans' | 'sign-up' | 'sign-in'): void }) {
  const toast = useToast();
  const queryClient = useQueryClient();
  const loaded = useQuery(lifecycleSettingsQuery());
  const [grace, setGrace] = useState<string | undefined>(undefined);
  const [finalDays, setFinalDays] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!loaded.data) return;
    setGrace(String(loaded.data.graceDays));
    setFinalDays(String(loaded.data.finalBackupDays));
  }, [loaded.data]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = { graceDays: Number(grace), finalBackupDays: Number(finalDays) };
      const answer = await call(api.PUT('/api/v1/settings/lifecycle', { body }));
      queryClient.setQueryData(customerKeys.lifecycleSettings, answer.lifecycle);
      toast.success('The lifecycle settings are saved.');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (name: (typeof FIELDS)[number]) =>
    error instanceof ApiError ? error.fieldErrors[name] : undefined;

  return (
    <div className="card-stack">
      <section className="card" aria-label="Customer lifecycle">
        <header className="card-header">
          <div>
            <h2>Customer lifecycle</h2>
            <p className="card-subtitle">
              A customer whose trial ends unpaid, or whom you suspend, keeps its instances stopped for a grace period;
              its owners are mailed. After it, the instances are deleted, each after a final backup.
            </p>
          </div>
        </header>
        <div className="card-body">
          {loaded.error ? <Alert kind="error">{errorMessage(loaded.error)}</Alert> : null}
          {grace === undefined && !loaded.error ? <Loading /> : null}
          {grace !== undefined ? (
            <form className="form customers-days-form" onSubmit={submit} noValidate aria-label="Lifecycle settings">
              <FormError error={error} fields={FIELDS} />
              <Field
                label="Grace period (days)"
                hint="From 1 to 365. A suspension already under way keeps the end it was given."
                error={fieldError('graceDays')}
              >
                {(props) => (
                  <input
                    {...props}
                    type="number"
                    min={1}
                    max={365}
                    value={grace}
                    onChange={(e) => setGrace(e.target.value)}
                  />
                )}
              </Field>
              <Field
                label="Final backups kept (days)"
                hint="From 1 to 3650: how long the customer can still download them after its instances are deleted."
                error={fieldError('finalBackupDays')}
              >
                {(props) => (
                  <input
                    {...props}
                    type="number"
                    min={1}
                    max={3650}
                    value={finalDays}
                    onChange={(e) => setFinalDays(e.target.value)}
                  />
                )}
              </Field>
              <div className="form-actions form-actions-start">
                <button type="submit" className="btn btn-primary" disabled={busy}>
                  Save
                </button>
              </div>
            </form>
          ) : null}
        </div>
      </section>
      <section className="card" aria-label="Customers elsewhere">
        <div className="card-body">
          <ul className="customers-links">
            <li>
              <button type="button" className="customers-link-button" onClick={() => onOpen('plans')}>
                Plans
              </button>{' '}
              — what customers may use, their trial length and prices.
            </li>
            <li>
              <button type="button" className="customers-link-button" onClick={() => onOpen('sign-up')}>
                Sign-up
              </button>{' '}
              — whether strangers may sign up, with which plans and templates.
            </li>
            <li>
              <button type="button" className="customers-link-button" onClick={() => onOpen('sign-in')}>
                Sign-in providers
              </button>{' '}
              — sign-in and sign-up with an external account.
            </li>
            <li>
              <Link className="customers-link-button" to="/customers">
                Customers
              </Link>{' '}
              — every organization with its plan and state.
            </li>
          </ul>
        </div>
      </section>
    </div>
  );
}
