import type { Logger } from 'pino';
import type { Db } from '../../db/database.js';
import type { Clock } from '../../platform/clock.js';
import { systemContext } from '../../platform/context.js';
import { isFinished, type OperationBus, type OperationView } from '../../platform/jobs/operations.js';
import type { Notices } from '../../platform/notices.js';
import type { InstanceService } from '../instances/service.js';
import { CREDENTIAL_LINK_DAYS, createCredentialLink, credentialsUrl } from './credential-links.js';
import type { SignupProvisioner, SignupRow } from './provision.js';

export interface SignupTickerDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  notices: Notices;
  provisioner: SignupProvisioner;
  instances: Pick<InstanceService, 'url'>;
  /** Finished jobs are heard at once; the tick catches up on what was missed (a restart). */
  bus: OperationBus;
  publicUrl: string;
  baseDomain: string | undefined;
}

/** What one tick did, for the logs and the tests. */
export interface SignupTickReport {
  expired: number;
  relaunched: string[];
  done: string[];
  failed: string[];
}

const system = systemContext('signup');

/**
 * Sign-ups after their verification: links and drafts past their time expire; a sign-up whose first
 * instance was never queued (a crash between verify's two steps) is queued again; one whose job
 * succeeded is `done` and its owner gets the welcome mail with a credentials link, exactly once.
 */
export class SignupTicker {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> | undefined;
  private readonly onOperation = (op: OperationView) => {
    if (!isFinished(op.status) || op.kind !== 'instance.provision') return;
    void this.settleJob(op.id).catch((error: unknown) =>
      this.deps.logger.warn({ err: error, job: op.id }, 'signup: settling after the job failed; the tick retries'),
    );
  };

  constructor(private readonly deps: SignupTickerDeps) {}

  async tick(): Promise<SignupTickReport> {
    const now = this.deps.clock.now();
    const { db } = this.deps;
    const expired = await db
      .updateTable('signups')
      .set({ status: 'expired' })
      .where('status', 'in', ['pending', 'draft'])
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    const report: SignupTickReport = { expired: Number(expired.numUpdatedRows), relaunched: [], done: [], failed: [] };
    const rows = await db.selectFrom('signups').selectAll().where('status', '=', 'provisioning').execute();
    for (const row of rows) {
      try {
        await this.step(row, report);
      } catch (error) {
        this.deps.logger.error({ err: error, signup: row.id }, 'signup: a step failed; next tick');
      }
    }
    await this.deps.notices.drain().catch((error: unknown) => {
      this.deps.logger.warn({ err: error }, 'signup: the outbox could not be drained now (it retries)');
    });
    return report;
  }

  private async step(row: SignupRow, report: SignupTickReport): Promise<void> {
    // The first transaction rolls back whole: a claimed row always has its organization.
    if (!row.organization_id) return;
    if (!row.instance_id) {
      if (row.operation_id) {
        await this.fail(row.id, 'The first instance was deleted before it was ready.');
        report.failed.push(row.id);
        return;
      }
      const adopted = await this.adopt(row);
      if (!adopted) {
        await this.deps.provisioner.launch(system, row.id);
        report.relaunched.push(row.id);
      }
      return;
    }
    if (!row.operation_id) return;
    const outcome = await this.settle(row);
    if (outcome === 'done') report.done.push(row.id);
    if (outcome === 'failed') report.failed.push(row.id);
  }

  /** The instance was made but its id not recorded (a crash just after `insertNew`): take it. */
  private async adopt(row: SignupRow): Promise<boolean> {
    if (!this.deps.baseDomain || !row.organization_id) return false;
    const instance = await this.deps.db
      .selectFrom('instances')
      .select('id')
      .where('organization_id', '=', row.organization_id)
      .where('hostname', '=', `${row.subdomain}.${this.deps.baseDomain}`)
      .executeTakeFirst();
    if (!instance) return false;
    const op = await this.deps.db
      .selectFrom('operations')
      .select('id')
      .where('target_id', '=', instance.id)
      .where('kind', '=', 'instance.provision')
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    await this.deps.db
      .updateTable('signups')
      .set({ instance_id: instance.id, operation_id: op?.id ?? null })
      .where('id', '=', row.id)
      .execute();
    return true;
  }

  private async settleJob(operationId: string): Promise<void> {
    const row = await this.deps.db
      .selectFrom('signups')
      .selectAll()
      .where('operation_id', '=', operationId)
      .where('status', '=', 'provisioning')
      .executeTakeFirst();
    if (!row) return;
    await this.settle(row);
    await this.deps.notices.drain();
  }

  /** Done (and the welcome mail) once the provisioning job succeeded; failed with its error otherwise. */
  private async settle(row: SignupRow): Promise<'done' | 'failed' | 'waiting'> {
    if (!row.operation_id || !row.instance_id || !row.user_id) return 'waiting';
    const op = await this.deps.db
      .selectFrom('operations')
      .select(['status', 'error'])
      .where('id', '=', row.operation_id)
      .executeTakeFirst();
    if (!op || !isFinished(op.status)) return 'waiting';
    if (op.status !== 'succeeded') {
      await this.fail(row.id, op.error?.message ?? `The first instance's job ended ${op.status}.`);
      return 'failed';
    }
    const now = this.deps.clock.now();
    const { instanceId, userId } = { instanceId: row.instance_id, userId: row.user_id };
    return this.deps.db.transaction().execute(async (trx) => {
      // Claimed first: of the bus listener and a tick (or two processes) one mails.
      const claimed = await trx
        .updateTable('signups')
        .set({ status: 'done' })
        .where('id', '=', row.id)
        .where('status', '=', 'provisioning')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) return 'waiting' as const;
      const [instance, organization] = await Promise.all([
        trx.selectFrom('instances').selectAll().where('id', '=', instanceId).executeTakeFirstOrThrow(),
        trx
          .selectFrom('organizations')
          .select('name')
          .where('id', '=', row.organization_id as string)
          .executeTakeFirstOrThrow(),
      ]);
      const token = await createCredentialLink(trx, { instanceId, userId, purpose: 'signup', now });
      await this.deps.notices.enqueue(trx, {
        key: 'welcome',
        to: row.email,
        vars: {
          organization: organization.name,
          instance: instance.name,
          instance_url: this.deps.instances.url(instance) ?? '',
          credentials_url: credentialsUrl(this.deps.publicUrl, token),
          credentials_expire_at: new Date(now.getTime() + CREDENTIAL_LINK_DAYS * 86_400_000).toISOString(),
          portal_url: this.deps.publicUrl.replace(/\/$/, ''),
        },
        dedupeKey: `welcome:${row.id}`,
        organizationId: row.organization_id,
      });
      return 'done' as const;
    });
  }

  private async fail(id: string, error: string): Promise<void> {
    await this.deps.db
      .updateTable('signups')
      .set({ status: 'failed', error: error.slice(0, 2000) })
      .where('id', '=', id)
      .where('status', '=', 'provisioning')
      .execute();
  }

  /** The timer, and the job listener. Ticks never overlap; an error is logged and the next tick tries again. */
  start(intervalMs: number): void {
    void this.stop();
    this.deps.bus.on('op', this.onOperation);
    const run = () => {
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch((error: unknown) => this.deps.logger.error({ err: error }, 'the sign-up ticker failed a tick'))
        .finally(() => {
          this.ticking = undefined;
        });
    };
    run();
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.deps.bus.off('op', this.onOperation);
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
  }
}
