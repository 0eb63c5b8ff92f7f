import type { Logger } from 'pino';
import type { Clock } from '../../platform/clock.js';
import type { BillingCycle } from './cycle.js';
import type { Dunning, DunningReport } from './dunning.js';
import type { Payments } from './payments.js';

export interface BillingTickReport extends DunningReport {
  issued: string[];
}

const POLL_MS = 5_000;

/**
 * The billing's clockwork: period invoices and dunning on the lifecycle's interval, Paynow polls
 * every few seconds. Both read their work from the database, so a restart loses nothing; tests call
 * `tick()` and `poll()` directly on their own clock.
 */
export class BillingTicker {
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<Promise<unknown>>();
  private busy = { tick: false, poll: false };

  constructor(
    private readonly deps: { clock: Clock; logger: Logger; cycle: BillingCycle; dunning: Dunning; payments: Payments },
  ) {}

  async tick(): Promise<BillingTickReport> {
    const now = this.deps.clock.now();
    const issued = await this.deps.cycle.renew(now);
    const report = await this.deps.dunning.tick(now);
    return { issued, ...report };
  }

  poll(): Promise<number> {
    return this.deps.payments.pollDue(this.deps.clock.now());
  }

  start(intervalMs: number): void {
    const every = (what: 'tick' | 'poll', ms: number) => {
      const run = () => {
        if (this.busy[what]) return;
        this.busy[what] = true;
        const work = (what === 'tick' ? this.tick() : this.poll())
          .catch((error: unknown) => this.deps.logger.error({ err: error }, `billing: the ${what} failed; next time`))
          .finally(() => {
            this.busy[what] = false;
            this.running.delete(work);
          });
        this.running.add(work);
      };
      run();
      const timer = setInterval(run, ms);
      timer.unref();
      this.timers.push(timer);
    };
    every('tick', intervalMs);
    every('poll', POLL_MS);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.all(this.running);
  }
}
