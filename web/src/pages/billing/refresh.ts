import { useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { planKeys } from '../plans/api';
import { billingKeys } from './api';

/**
 * After a payment: the invoices and the subscription, and the plan's usage, which the suspension
 * banner and the usage bars read (a payment resumes a suspended organization at once).
 */
export function useRefreshBilling(organizationId: string): () => Promise<void> {
  const queryClient = useQueryClient();
  return useCallback(async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: billingKeys.view(organizationId) }),
      queryClient.invalidateQueries({ queryKey: planKeys.usage(organizationId) }),
    ]);
  }, [queryClient, organizationId]);
}
