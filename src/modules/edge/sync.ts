import type { Logger } from 'pino';

export interface EdgeSyncDeps {
  /** The whole configuration as it should be now. */
  build(): Promise<Record<string, unknown>>;
  /** Gives it to the proxy (Caddy's `POST /load`). */
  load(config: Record<string, unknown>): Promise<void>;
  logger: Logger;
  /** Requests within this window become one load. */
  coalesceMs?: number;
  /** Waits before retrying a failed load, the last one repeated. */
  retryMs?: number[];
}

/**
 * Keeps the proxy's configuration in step with Marina's state: requests are coalesced (many within
 * ~200 ms → one load), one load runs at a time, a configuration equal to the last one loaded is
 * not sent again (a status change reloads nothing), and a failed load is retried and logged.
 */
export class EdgeSync {
  private readonly reasons = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastLoaded: string | undefined;
  private failures = 0;
  private lastError: Error | undefined;
  private stopped = false;
  /** Loads sent to the proxy and accepted (what the tests count). */
  loads = 0;

  constructor(private readonly deps: EdgeSyncDeps) {}

  request(reason: string): void {
    if (this.stopped) return;
    this.reasons.add(reason);
    if (!this.timer && !this.running) this.schedule(this.deps.coalesceMs ?? 200);
  }

  /** Runs what is pending now and waits for it; throws when the last load failed. */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.run();
    }
    while (this.running) await this.running;
    if (this.timer && this.failures === 0) return this.flush();
    if (this.failures > 0 && this.lastError) throw this.lastError;
  }

  /** Forgets what was loaded: the next request sends the configuration even if unchanged. */
  invalidate(): void {
    this.lastLoaded = undefined;
  }

  /** Accepts requests again after stop(). */
  resume(): void {
    this.stopped = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, ms);
    this.timer.unref();
  }

  private run(): void {
    const reasons = [...this.reasons];
    this.reasons.clear();
    this.running = this.loadOnce(reasons).finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      if (this.failures > 0) {
        const waits = this.deps.retryMs ?? [1000, 5000, 15_000, 30_000];
        this.reasons.add('retry after a failed load');
        this.schedule(waits[Math.min(this.failures - 1, waits.length - 1)] ?? 30_000);
      } else if (this.reasons.size > 0) {
        this.schedule(this.deps.coalesceMs ?? 200);
      }
    });
  }

  private async loadOnce(reasons: string[]): Promise<void> {
    try {
      const config = await this.deps.build();
      const text = JSON.stringify(config);
      if (text !== this.lastLoaded) {
        const started = Date.now();
        await this.deps.load(config);
        this.lastLoaded = text;
        this.loads++;
        this.deps.logger.info({ reasons, ms: Date.now() - started }, 'edge: proxy configuration loaded');
      }
      this.failures = 0;
      this.lastError = undefined;
    } catch (error) {
      this.failures++;
      this.lastError = error as Error;
      // The reasons stay pending: the retry carries them.
      for (const reason of reasons) this.reasons.add(reason);
      this.deps.logger.error(
        { err: error, reasons, attempt: this.failures },
        'edge: loading the proxy configuration failed; retrying',
      );
    }
  }
}
