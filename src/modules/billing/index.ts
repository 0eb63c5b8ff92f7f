import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Notices } from '../../platform/notices.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { LifecycleService } from '../lifecycle/service.js';
import type { PlanService } from '../plans/plans.js';
import type { SubscriptionService } from '../plans/subscriptions.js';
import { BillingAccount } from './account.js';
import { BillingAdmin } from './admin.js';
import { BillingCycle } from './cycle.js';
import { Dunning } from './dunning.js';
import { Ledger } from './ledger.js';
import { Payments } from './payments.js';
import { BillingProviders, type BillingStandins } from './providers.js';
import { BillingTicker } from './ticker.js';
import { BillingWebhooks } from './webhooks.js';

export { billingRoutes } from './routes.js';
export type { BillingStandins };

export interface BillingModuleDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  audit: AuditService;
  box: SecretBox;
  notices: Notices;
  lifecycle: LifecycleService;
  plans: PlanService;
  subscriptions: Pick<SubscriptionService, 'changePlan'>;
  publicUrl: string;
  standins?: BillingStandins;
}

export interface BillingModule {
  billingAccount: BillingAccount;
  billingAdmin: BillingAdmin;
  billingCycle: BillingCycle;
  billingProviders: BillingProviders;
  billingPayments: Payments;
  billingWebhooks: BillingWebhooks;
  billingTicker: BillingTicker;
  ledger: Ledger;
  dunning: Dunning;
}

/** Billing (issue #20): invoices, credit notes, Stripe and Paynow, dunning. */
export function createBillingModule(deps: BillingModuleDeps): BillingModule {
  const { db, clock, audit, notices, publicUrl } = deps;
  const logger = deps.logger.child({ module: 'billing' });
  const ledger = new Ledger({ db, clock, notices, lifecycle: deps.lifecycle, publicUrl, logger });
  const billingCycle = new BillingCycle({ db, clock, notices, publicUrl, logger });
  const billingProviders = new BillingProviders({ db, clock, audit, box: deps.box, standins: deps.standins });
  const billingPayments = new Payments({ db, clock, logger, ledger, providers: billingProviders, publicUrl });
  const dunning = new Dunning({ db, clock, notices, lifecycle: deps.lifecycle, publicUrl, logger });
  return {
    billingAccount: new BillingAccount({
      db,
      clock,
      audit,
      plans: deps.plans,
      subscriptions: deps.subscriptions,
      cycle: billingCycle,
    }),
    billingAdmin: new BillingAdmin({ db, clock, audit, ledger }),
    billingCycle,
    billingProviders,
    billingPayments,
    billingWebhooks: new BillingWebhooks({
      db,
      clock,
      logger,
      ledger,
      cycle: billingCycle,
      payments: billingPayments,
      providers: billingProviders,
    }),
    billingTicker: new BillingTicker({ clock, logger, cycle: billingCycle, dunning, payments: billingPayments }),
    ledger,
    dunning,
  };
}
