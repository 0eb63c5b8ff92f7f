import { useQuery } from '@tanstack/react-query';
import { useParams } from 'react-router-dom';
import { errorMessage } from '../../api/errors';
import { organizationQuery } from '../../api/queries';
import { Alert } from '../../components/Alert';
import { EmptyState, Loading } from '../../components/EmptyState';
import { FileZipIcon } from '../../components/icons';
import { PageHeader } from '../../components/PageHeader';
import { UsageBars } from '../../components/UsageBars';
import { useCan } from '../../session/permissions';
import '../../styles/portal.css';

/**
 * The owner's billing corner. Invoices and payment come with the billing issue (#20); until then
 * the page says so and shows the plan as it is — never made-up invoices.
 */
export function BillingPage() {
  const { slug = '' } = useParams();
  const org = useQuery(organizationQuery(slug));
  const allowed = useCan(org.data?.id, 'billing.manage');
  if (org.error) return <Alert kind="error">{errorMessage(org.error)}</Alert>;
  if (!org.data) return <Loading />;
  if (!allowed) return <Alert kind="error">Only the organization's owners manage its billing.</Alert>;
  return (
    <>
      <PageHeader title="Billing" subtitle={`${org.data.name}'s plan, and soon its invoices.`} />
      <UsageBars organizationId={org.data.id} />
      <section className="card billing-placeholder">
        <EmptyState icon={<FileZipIcon width={28} height={28} />} title="Billing arrives with invoices">
          <p>Invoices, payment methods and plan changes will be here. Nothing is charged through Marina yet.</p>
        </EmptyState>
      </section>
    </>
  );
}
