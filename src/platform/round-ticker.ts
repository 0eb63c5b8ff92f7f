import type { Logger } from 'pino';

/**
 * Runs a round every `intervalMs` (and once at start), never two at once: a round still running
 * when the next is due makes that one skip. A failed round is logged; the next one runs as usual.
 */
export class RoundTicker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly round: () => Promise<void>,
    private readonly options: { intervalMs: number; logger: Logger; failure: string },
  ) {}

  private tick(): void {
    if (this.running) return;
    this.running = this.round()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, this.options.failure))
      .finally(() => {
        this.running = undefined;
      });
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    this.tick();
  }

  /** A round now (skipped when one runs: the settings it reads are the ones just saved, or soon read again). */
  poke(): void {
    this.tick();
  }

  /** Stops the timer and waits for the round in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
