import type { Db } from '../../db/database.js';
import type { BillingProviderId } from '../../db/schema-billing.js';
import { requirePlatformAdmin } from '../../platform/access.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { Actor, RequestContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import { invalid } from '../../platform/validation.js';
import { PaynowClient } from './paynow/client.js';
import type { PaynowCurrency } from './paynow/validate.js';
import { createStripeClient, type StripeApiEndpoint, StripeGateway } from './stripe/gateway.js';

/** Where the providers are: their real addresses in production, loopback stand-ins in tests. */
export interface BillingStandins {
  stripeApi?: StripeApiEndpoint;
  paynowBaseUrl?: string;
}

export interface BillingProvidersDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  standins?: BillingStandins;
}

export const PROVIDER_IDS: readonly BillingProviderId[] = ['stripe', 'paynow:USD', 'paynow:ZWG'];
export const isProviderId = (id: string): id is BillingProviderId => (PROVIDER_IDS as readonly string[]).includes(id);

interface StripeSecret {
  secretKey: string;
  webhookSecret: string;
}

const text = (value: unknown, field: string, pattern: RegExp, what: string): string => {
  if (typeof value !== 'string' || !pattern.test(value)) throw invalid(field, what);
  return value;
};

/**
 * The payment providers' credentials, sealed to their row; the platform admin sets them and sees
 * only whether they are set. Clients are made per use from the row, so a changed key applies at once.
 */
export class BillingProviders {
  constructor(private readonly deps: BillingProvidersDeps) {}

  async list(actor: Actor) {
    requirePlatformAdmin(actor);
    const rows = await this.deps.db.selectFrom('billing_providers').selectAll().execute();
    return PROVIDER_IDS.map((id) => {
      const row = rows.find((r) => r.id === id);
      return {
        id,
        configured: row !== undefined,
        enabled: row?.enabled ?? false,
        integrationId: (row?.public_config.integrationId as string | undefined) ?? null,
        updatedAt: row?.updated_at.toISOString() ?? null,
      };
    });
  }

  /** Sets (or replaces) a provider's credentials; `enabled` alone switches a configured one. */
  async set(ctx: RequestContext, id: string, input: Record<string, unknown>) {
    requirePlatformAdmin(ctx.actor);
    if (!isProviderId(id)) throw notFound('Payment provider');
    const existing = await this.deps.db
      .selectFrom('billing_providers')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    // Replacing credentials keeps a switched-off provider off; a new one starts on.
    const enabled = input.enabled === undefined ? (existing?.enabled ?? true) : input.enabled === true;
    const at = this.deps.clock.now();
    let secret: string | undefined;
    let publicConfig: Record<string, unknown> = existing?.public_config ?? {};
    // Half a credential (a webhook secret without its key) is refused, not ignored.
    const givesSecret =
      id === 'stripe'
        ? input.secretKey !== undefined || input.webhookSecret !== undefined
        : input.integrationKey !== undefined || input.integrationId !== undefined;
    if (givesSecret || !existing) {
      if (id === 'stripe') {
        const value: StripeSecret = {
          secretKey: text(
            input.secretKey,
            'secretKey',
            /^(sk|rk)_(test|live)_[A-Za-z0-9]{8,200}$/,
            'A Stripe secret key: sk_live_… or sk_test_….',
          ),
          webhookSecret: text(
            input.webhookSecret,
            'webhookSecret',
            /^whsec_[A-Za-z0-9]{8,200}$/,
            'The webhook endpoint’s signing secret: whsec_….',
          ),
        };
        secret = JSON.stringify(value);
      } else {
        publicConfig = {
          integrationId: text(input.integrationId, 'integrationId', /^\d{1,20}$/, 'The Paynow integration id: digits.'),
        };
        secret = text(input.integrationKey, 'integrationKey', /^[A-Za-z0-9-]{8,100}$/, 'The Paynow integration key.');
      }
    }
    await this.deps.db.transaction().execute(async (trx) => {
      const sealed =
        secret === undefined ? undefined : this.deps.box.seal(secret, sealedAt('billing_providers', 'secret', id));
      if (existing) {
        await trx
          .updateTable('billing_providers')
          .set({
            enabled,
            updated_at: at,
            public_config: JSON.stringify(publicConfig),
            ...(sealed ? { secret: sealed } : {}),
          })
          .where('id', '=', id)
          .execute();
      } else {
        await trx
          .insertInto('billing_providers')
          .values({
            id,
            enabled,
            updated_at: at,
            public_config: JSON.stringify(publicConfig),
            secret: sealed as string,
          })
          .execute();
      }
      await this.deps.audit.record(
        ctx,
        {
          action: 'billing.set_provider',
          target: { type: 'billing', id: `provider:${id}`, label: id },
          details: { enabled, credentialsChanged: secret !== undefined },
        },
        trx,
      );
    });
    const listed = (await this.list(ctx.actor)).find((p) => p.id === id);
    if (!listed) throw notFound('Payment provider');
    return listed;
  }

  private async row(id: BillingProviderId) {
    const row = await this.deps.db
      .selectFrom('billing_providers')
      .selectAll()
      .where('id', '=', id)
      .where('enabled', '=', true)
      .executeTakeFirst();
    if (!row) return undefined;
    return { row, secret: this.deps.box.open(row.secret, sealedAt('billing_providers', 'secret', id)) };
  }

  async stripe(): Promise<{ gateway: StripeGateway; webhookSecret: string } | undefined> {
    const found = await this.row('stripe');
    if (!found) return undefined;
    const secret = JSON.parse(found.secret) as StripeSecret;
    const client = await createStripeClient({
      secretKey: secret.secretKey,
      ...(this.deps.standins?.stripeApi ? { api: this.deps.standins.stripeApi } : {}),
    });
    return { gateway: new StripeGateway(client), webhookSecret: secret.webhookSecret };
  }

  async paynow(currency: string): Promise<PaynowClient | undefined> {
    if (currency !== 'USD' && currency !== 'ZWG') return undefined;
    const found = await this.row(`paynow:${currency}`);
    if (!found) return undefined;
    return new PaynowClient({
      integrationId: found.row.public_config.integrationId as string,
      integrationKey: found.secret,
      currency: currency as PaynowCurrency,
      ...(this.deps.standins?.paynowBaseUrl ? { baseUrl: this.deps.standins.paynowBaseUrl } : {}),
    });
  }
}
