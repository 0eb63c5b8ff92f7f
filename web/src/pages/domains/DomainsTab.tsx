import { useQuery, useQueryClient } from '@tanstack/react-query';
import { errorMessage } from '../../api/errors';
import { queryKeys } from '../../api/queries';
import type { Instance } from '../../api/types';
import { Alert } from '../../components/Alert';
import { Badge } from '../../components/Badge';
import { EmptyState, Loading } from '../../components/EmptyState';
import { ExternalIcon, ShieldIcon } from '../../components/icons';
import { AddDomainForm } from './AddDomainForm';
import { domainKeys, domainsQuery } from './api';
import { CertificateStateText } from './CertificateParts';
import { DomainCard } from './DomainCard';
import { ProtectionCard } from './ProtectionCard';
import '../../styles/domains.css';

/** Whether the instance page offers the Domains tab: only when this Marina runs the edge proxy. */
export function useEdgeEnabled(instanceId: string): boolean {
  // Only the tab itself follows pending domains; the page asks once whether there are domains at all.
  const domains = useQuery({ ...domainsQuery(instanceId), retry: false, refetchInterval: false });
  return domains.data?.edge === true;
}

/** The instance's names: its platform name, the custom domains with their DNS and certificates, protection. */
export function DomainsTab({ instance, isAdmin }: { instance: Instance; isAdmin: boolean }) {
  const queryClient = useQueryClient();
  const domains = useQuery(domainsQuery(instance.id));

  /** A domain changed: its list, and the instance (its address follows the primary domain). */
  async function changed() {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: domainKeys.ofInstance(instance.id) }),
      queryClient.invalidateQueries({ queryKey: queryKeys.instances.all }),
    ]);
  }

  if (domains.error) return <Alert kind="error">{errorMessage(domains.error)}</Alert>;
  if (!domains.data) return <Loading />;
  const { edge, platform, domains: list } = domains.data;
  if (!edge)
    return (
      <EmptyState icon={<ShieldIcon width={28} height={28} />} title="Domains are not set up on this Marina">
        Custom domains and HTTPS need the edge proxy: the operator sets MARINA_BASE_DOMAIN.
      </EmptyState>
    );

  const customPrimary = list.some((d) => d.isPrimary);
  return (
    <div className="domains-tab">
      {platform ? (
        <section className="card platform-name" aria-label="Platform name">
          <header className="card-header">
            <h3>Platform name</h3>
            {customPrimary ? (
              <Badge tone="gray">redirects to the primary domain</Badge>
            ) : (
              <Badge tone="teal">primary</Badge>
            )}
          </header>
          <div className="card-body">
            <p>
              <a
                className="external-link mono"
                href={platform.url}
                target="_blank"
                rel="noreferrer"
                data-testid="platform-url"
              >
                {platform.url}
                <ExternalIcon width={12} height={12} />
              </a>
            </p>
            <p className="platform-certificate">
              <span className="fact-label">Certificate</span> <CertificateStateText state={platform.certificate} />
            </p>
          </div>
        </section>
      ) : null}
      <section className="section" aria-label="Custom domains">
        <div className="section-head">
          <h2>Custom domains</h2>
          {domains.isFetching && list.some((d) => d.status === 'pending') ? (
            <span className="muted" aria-live="polite">
              checking…
            </span>
          ) : null}
        </div>
        {list.length === 0 ? (
          <p className="muted domains-empty">No custom domain yet: the instance answers on its platform name.</p>
        ) : (
          <div className="domain-list">
            {list.map((domain) => (
              <DomainCard key={domain.id} domain={domain} isAdmin={isAdmin} onChanged={changed} />
            ))}
          </div>
        )}
        {isAdmin ? <AddDomainForm instanceId={instance.id} onAdded={changed} /> : null}
      </section>
      {instance.stage !== 'production' ? <ProtectionCard instanceId={instance.id} isAdmin={isAdmin} /> : null}
    </div>
  );
}
