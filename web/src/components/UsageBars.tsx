import { useQuery } from '@tanstack/react-query';
import { usageQuery } from '../pages/plans/api';
import { ProgressBar } from './ProgressBar';
import '../styles/plans.css';

const MB = 1024 * 1024;

function Bar({
  label,
  used,
  allowed,
  unit = '',
}: {
  label: string;
  used: number;
  allowed: number | null;
  unit?: string;
}) {
  const percent = allowed === null ? 0 : allowed === 0 ? (used > 0 ? 100 : 0) : (used / allowed) * 100;
  const tone = percent >= 100 ? 'red' : percent >= 80 ? 'amber' : 'brand';
  return (
    <div className="usage-bar" data-usage={label}>
      <div className="usage-bar-label">
        <span>{label}</span>
        <span className="usage-bar-figure">
          {used}
          {unit} / {allowed === null ? 'unlimited' : `${allowed}${unit}`}
        </span>
      </div>
      {allowed === null ? null : (
        <ProgressBar value={percent} label={`${label}: ${Math.round(percent)} %`} tone={tone} />
      )}
    </div>
  );
}

/** The organization's plan and what it uses of it; nothing without a plan (no limits). */
export function UsageBars({ organizationId }: { organizationId: string }) {
  const usage = useQuery(usageQuery(organizationId));
  const data = usage.data;
  if (!data?.plan || !data.limits) return null;
  const { limits } = data;
  return (
    <section className="card usage-bars" aria-label="Plan usage">
      <header className="card-header">
        <div>
          <h2>Plan: {data.plan.name}</h2>
          <p className="card-subtitle">
            {data.status === 'trialing' ? 'Trial' : 'What the organization uses of its plan.'}
          </p>
        </div>
      </header>
      <div className="card-body usage-bars-list">
        <Bar label="Production instances" used={data.usage.production} allowed={limits.maxProduction} />
        <Bar
          label="Staging instances"
          used={data.usage.staging}
          allowed={data.stagingAllowed ? limits.maxStaging : 0}
        />
        <Bar label="Development instances" used={data.usage.development} allowed={limits.maxDevelopment} />
        <Bar label="Storage" used={Math.round(data.usage.storageBytes / MB)} allowed={limits.storageMb} unit=" MB" />
        <Bar label="Custom domains" used={data.usage.customDomains} allowed={limits.maxCustomDomains} />
      </div>
    </section>
  );
}
