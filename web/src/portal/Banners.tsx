import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router-dom';
import { api, call } from '../api/client';
import { errorMessage } from '../api/errors';
import { useToast } from '../components/Toast';
import { formatDate } from '../format';
import { usageQuery } from '../pages/plans/api';
import { impersonatedOrganization } from '../session/permissions';
import { useMe, useSession } from '../session/SessionContext';
import '../styles/portal.css';

/**
 * Support opened the organization as its members see it: said on every page, with the way out.
 * The session is read-only (the server refuses its writes), so the banner says so.
 */
export function ImpersonationBanner() {
  const me = useMe();
  const { signedIn } = useSession();
  const toast = useToast();
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  if (!me.impersonating) return null;
  const org = impersonatedOrganization(me);

  async function end() {
    setBusy(true);
    try {
      const start = await call(api.POST('/api/v1/auth/impersonation/end'));
      await signedIn(start);
      navigate('/customers', { replace: true });
    } catch (error) {
      toast.error(errorMessage(error));
      setBusy(false);
    }
  }

  return (
    <div className="portal-banner portal-banner-support" role="status" data-testid="impersonation-banner">
      <span>
        Viewing <strong>{org?.name ?? 'the organization'}</strong> as {org?.role ?? 'owner'} (read-only)
      </span>
      <button type="button" className="btn btn-small btn-secondary" disabled={busy} onClick={() => void end()}>
        End
      </button>
    </div>
  );
}

const suspendedWhy: Record<string, string> = {
  trial_ended: 'Trial ended',
  admin: 'Suspended',
  past_due: 'Past due',
};

/** What the suspension or the end of the subscription means for the members, in words. */
export function suspensionTitle(status: string | null, kind: string | null): string | null {
  if (status === 'cancelled') return 'Subscription ended';
  if (status !== 'suspended') return null;
  return suspendedWhy[kind ?? 'admin'] ?? 'Suspended';
}

/**
 * A suspended (or cancelled) organization says so on its pages: instances are stopped, data is
 * kept, backups can still be downloaded, nothing starts. Nothing for an organization without a plan.
 */
export function SuspendedBanner({ organizationId }: { organizationId: string }) {
  const usage = useQuery(usageQuery(organizationId));
  const data = usage.data;
  const title = data ? suspensionTitle(data.status, data.suspendedKind) : null;
  if (!data || !title) return null;
  return (
    <div
      className="portal-banner portal-banner-suspended"
      role="alert"
      data-testid="suspended-banner"
      data-kind={data.status === 'cancelled' ? 'cancelled' : (data.suspendedKind ?? 'admin')}
    >
      <strong>{title}.</strong>{' '}
      <span>
        {data.suspendedKind === 'trial_ended'
          ? 'The trial is over: the instances are stopped and your data is kept. Choose a plan to start them again.'
          : data.suspendedKind === 'past_due'
            ? 'A payment is overdue: the instances are stopped and your data is kept until it is settled.'
            : 'The instances are stopped and your data is kept; backups can still be downloaded. Contact support to resume.'}
      </span>
    </div>
  );
}

/** The trial's end, on the organization's page while it runs. */
export function TrialBanner({ organizationId }: { organizationId: string }) {
  const usage = useQuery(usageQuery(organizationId));
  const data = usage.data;
  if (data?.status !== 'trialing' || !data.trialEndsAt) return null;
  return (
    <div className="portal-banner portal-banner-trial" role="status" data-testid="trial-banner">
      <strong>Trial{data.plan ? ` of ${data.plan.name}` : ''}</strong>
      <span>ends {formatDate(data.trialEndsAt)}.</span>
    </div>
  );
}
