import { useSearchParams } from 'react-router-dom';
import { PageHeader } from '../../../components/PageHeader';
import { isOperator } from '../../../session/permissions';
import { useMe } from '../../../session/SessionContext';
import { NotFoundPage } from '../../NotFoundPage';
import { OverviewTab } from './OverviewTab';
import { ProvidersTab } from './ProvidersTab';
import { SettingsTab } from './SettingsTab';
import { TaxRatesTab } from './TaxRatesTab';
import '../../../styles/billing.css';

const tabs = [
  { id: 'overview', label: 'Overview' },
  { id: 'settings', label: 'Settings' },
  { id: 'tax-rates', label: 'Tax rates' },
  { id: 'providers', label: 'Payment providers' },
] as const;
type Tab = (typeof tabs)[number]['id'];

/** Platform admins only: the books. Anyone else finds no such page (the API refuses them too). */
export function AdminBillingPage() {
  const me = useMe();
  if (!isOperator(me)) return <NotFoundPage />;
  return <AdminBilling />;
}

function AdminBilling() {
  const [params, setParams] = useSearchParams();
  // The tab is in the address, so a reload or a shared link opens it.
  const tab: Tab = tabs.find((t) => t.id === params.get('tab'))?.id ?? 'overview';
  return (
    <>
      <PageHeader
        title="Billing"
        subtitle="Revenue, what customers owe, how invoices are made and how they are paid."
      />
      <div className="tabs" role="tablist" aria-label="Billing sections">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            id={`billing-tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`billing-panel-${t.id}`}
            className={tab === t.id ? 'tab active' : 'tab'}
            onClick={() => setParams(t.id === 'overview' ? {} : { tab: t.id }, { replace: true })}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`billing-panel-${tab}`} aria-labelledby={`billing-tab-${tab}`}>
        {tab === 'overview' ? <OverviewTab /> : null}
        {tab === 'settings' ? <SettingsTab /> : null}
        {tab === 'tax-rates' ? <TaxRatesTab /> : null}
        {tab === 'providers' ? <ProvidersTab /> : null}
      </div>
    </>
  );
}
