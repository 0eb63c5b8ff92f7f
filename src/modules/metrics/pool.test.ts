import { describe, expect, it } from 'vitest';
import { mapLimit, within } from './pool.js';
import { pacedConcurrency } from './sampler.js';

describe('the sampling pool', () => {
  it('runs at most `limit` at once and keeps the order of the items', async () => {
    let active = 0;
    let most = 0;
    const results = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (n) => {
      active++;
      most = Math.max(most, active);
      await new Promise((resolve) => setTimeout(resolve, n * 5));
      active--;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30, 0]);
    expect(most).toBe(2);
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });

  it('stops waiting for what takes too long or fails, without throwing', async () => {
    const started = Date.now();
    expect(await within(new Promise(() => undefined), 50)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await within(Promise.reject(new Error('refused')), 1000)).toBeUndefined();
    expect(await within(Promise.resolve(7), 1000)).toBe(7);
  });

  it('spreads the containers of a host over half the deadline, a second per batch, 4 to 128 at once', () => {
    // A 30-s deadline (a round a minute): 15 batches.
    expect(pacedConcurrency(500, 30_000)).toBe(34);
    expect(pacedConcurrency(200, 30_000)).toBe(14);
    expect(pacedConcurrency(3, 30_000)).toBe(4);
    expect(pacedConcurrency(5000, 30_000)).toBe(128);
    // A short interval leaves fewer batches, so more at once.
    expect(pacedConcurrency(200, 10_000)).toBe(40);
    expect(pacedConcurrency(200, 1000)).toBe(128);
  });
});
