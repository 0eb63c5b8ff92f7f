import { describe, expect, it } from 'vitest';
import { downtimeMs } from '../bench/live-poll.js';

describe('downtime from a live client', () => {
  it('is the longest stretch from the last answer before failures to the first after', () => {
    const answers = [
      { at: 0, value: 'a' },
      { at: 100, value: 'a' },
      { at: 200, value: undefined },
      { at: 300, value: undefined },
      { at: 450, value: 'b' },
      { at: 550, value: undefined },
      { at: 700, value: 'b' },
    ];
    expect(downtimeMs(answers)).toBe(350);
    expect(downtimeMs(answers.filter((a) => a.value !== undefined))).toBe(0);
    // Failures that never end are not measured as downtime (the caller checks the last answer).
    expect(
      downtimeMs([
        { at: 0, value: 'a' },
        { at: 100, value: undefined },
      ]),
    ).toBe(0);
  });
});
