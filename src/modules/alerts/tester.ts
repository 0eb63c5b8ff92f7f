import type { Db } from '../../db/database.js';
import type { AuditService } from '../../platform/audit/service.js';
import type { Clock } from '../../platform/clock.js';
import type { RequestContext } from '../../platform/context.js';
import type { Notices } from '../../platform/notices.js';
import { sealedAt } from '../../platform/secrets/sealed-columns.js';
import type { SecretBox } from '../../platform/secrets/secret-box.js';
import type { AlertChannelService } from './channels.js';
import type { AlertDeliveries } from './deliveries.js';
import type { AlertMessage } from './formats.js';

export interface TestOutcome {
  ok: boolean;
  /** The receiver's HTTP status (webhooks), null for email or when nothing answered. */
  status: number | null;
  error: string | null;
}

export interface AlertTesterDeps {
  db: Db;
  clock: Clock;
  audit: AuditService;
  box: SecretBox;
  notices: Notices;
  channels: AlertChannelService;
  deliveries: Pick<AlertDeliveries, 'post'>;
  publicUrl: string;
}

/** The test button: one message through the channel now, and what happened to it. */
export class AlertTester {
  constructor(private readonly deps: AlertTesterDeps) {}

  async test(ctx: RequestContext, organizationId: string, id: string): Promise<TestOutcome> {
    const { db, clock } = this.deps;
    const row = await this.deps.channels.forTest(ctx.actor, organizationId, id);
    const org = await db
      .selectFrom('organizations')
      .select('name')
      .where('id', '=', organizationId)
      .executeTakeFirstOrThrow();
    let outcome: TestOutcome;
    if (row.kind === 'email') {
      const dedupeKey = `alert-test:${id}:${clock.now().getTime()}`;
      await this.deps.notices.enqueue(db, {
        key: 'alert_test',
        to: row.target,
        organizationId,
        dedupeKey,
        vars: { organization: org.name, url: this.deps.publicUrl },
      });
      await this.deps.notices.drain();
      const sent = await db
        .selectFrom('mail_outbox')
        .select(['status', 'last_error'])
        .where('dedupe_key', '=', dedupeKey)
        .executeTakeFirst();
      outcome = {
        ok: sent?.status === 'sent',
        status: null,
        error: sent?.status === 'sent' ? null : (sent?.last_error ?? 'not sent yet'),
      };
    } else {
      const message: AlertMessage = {
        event: 'test',
        alert: {
          rule: 'test',
          title: 'Test',
          incidentId: null,
          failed: null,
          error: null,
          summary: null,
          advice: null,
        },
        instance: null,
        subject: null,
        organization: { id: organizationId, name: org.name },
        startedAt: clock.now().toISOString(),
        resolvedAt: null,
        details: {},
      };
      const secret =
        row.secret === null ? null : this.deps.box.open(row.secret, sealedAt('alert_channels', 'secret', row.id));
      const posted = await this.deps.deliveries.post(
        { id: row.id, kind: row.kind, target: row.target, secret },
        message,
      );
      outcome = { ok: posted.ok, status: posted.status, error: posted.error };
    }
    await this.deps.audit.record(ctx, {
      action: 'alert_channel.test',
      organizationId,
      target: { type: 'alert_channel', id, label: row.name },
      details: { ok: outcome.ok, status: outcome.status },
    });
    return outcome;
  }
}
