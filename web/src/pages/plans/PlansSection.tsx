import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, call } from '../../api/client';
import { errorMessage } from '../../api/errors';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable } from '../../components/DataTable';
import { EmptyState, Loading } from '../../components/EmptyState';
import { useToast } from '../../components/Toast';
import { formatPrice, type NewPlan, type Plan, planKeys, plansQuery } from './api';
import { PlanForm } from './PlanForm';
import '../../styles/plans.css';

const unlimited = (value: number | null, unit = '') => (value === null ? '∞' : `${value}${unit}`);

/** The limits in one line: instances by stage, size per instance, storage and domains. */
function limitsSummary(plan: Plan): string {
  const l = plan.limits;
  const staging = plan.stagingAllowed ? unlimited(l.maxStaging) : '0';
  return [
    `${unlimited(l.maxProduction)} prod · ${staging} staging · ${unlimited(l.maxDevelopment)} dev`,
    `${unlimited(l.maxCpus)} CPU, ${unlimited(l.maxMemoryMb, ' MB')} per instance`,
    `storage ${unlimited(l.storageMb, ' MB')}`,
    `${unlimited(l.maxCustomDomains)} domains`,
  ].join(' · ');
}

/**
 * Platform admins: the plans sold (limits, trial, prices in whole minor units). Archiving stops
 * offering a plan; organizations on it keep it.
 */
export function PlansSection() {
  const toast = useToast();
  const queryClient = useQueryClient();
  const plans = useQuery(plansQuery());
  const [creating, setCreating] = useState(false);
  const [archiving, setArchiving] = useState<Plan | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: planKeys.plans });

  async function create(input: NewPlan) {
    await call(api.POST('/api/v1/plans', { body: input }));
    toast.success(`${input.name} is created.`);
    await refresh();
  }

  return (
    <section className="card card-flush" aria-label="Plans">
      <header className="card-header">
        <div>
          <h2>Plans</h2>
          <p className="card-subtitle">
            What customers may use: instances by stage, their size, storage, backups and custom domains. An organization
            without a plan has no limits.
          </p>
        </div>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          New plan
        </button>
      </header>
      {plans.error ? (
        <div className="card-body">
          <Alert kind="error">{errorMessage(plans.error)}</Alert>
        </div>
      ) : null}
      {plans.isPending ? <Loading /> : null}
      {plans.data && plans.data.length === 0 ? (
        <EmptyState title="No plan yet">Organizations have no limits until they are given a plan.</EmptyState>
      ) : null}
      {plans.data && plans.data.length > 0 ? (
        <DataTable
          label="Plans"
          rows={plans.data}
          rowKey={(p) => p.id}
          columns={[
            { header: 'Name', className: 'row-title', cell: (p) => <span data-plan={p.slug}>{p.name}</span> },
            {
              header: 'Offered',
              cell: (p) => (p.public ? <Badge tone="green">at sign-up</Badge> : <Badge>by an admin</Badge>),
            },
            { header: 'Trial', cell: (p) => (p.trialDays > 0 ? `${p.trialDays} days` : 'none') },
            { header: 'Limits', cell: (p) => <span className="plan-limits">{limitsSummary(p)}</span> },
            {
              header: 'Prices',
              cell: (p) =>
                p.prices.length === 0
                  ? '—'
                  : p.prices
                      .map((price) => `${formatPrice(price.amountMinor, price.currency)}/${price.period}`)
                      .join(', '),
            },
            {
              header: 'Actions',
              hiddenHeader: true,
              className: 'actions',
              cell: (p) => (
                <button type="button" className="btn btn-secondary btn-small" onClick={() => setArchiving(p)}>
                  Archive
                </button>
              ),
            },
          ]}
        />
      ) : null}
      {creating ? <PlanForm onSave={create} onClose={() => setCreating(false)} /> : null}
      {archiving ? (
        <ConfirmDialog
          title={`Archive ${archiving.name}?`}
          confirmLabel="Archive plan"
          onClose={() => setArchiving(null)}
          onConfirm={async () => {
            await call(api.DELETE('/api/v1/plans/{id}', { params: { path: { id: archiving.id } } }));
            toast.success(`${archiving.name} is archived.`);
            await refresh();
          }}
        >
          It is no longer offered nor given. Organizations on it keep it and its limits.
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
