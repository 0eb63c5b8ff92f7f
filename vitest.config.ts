import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // A page on a loaded 2-core CI machine may take seconds to answer: 1 s (the default) made
    // browser checks fail that only waited too little.
    expect: { poll: { timeout: 10_000 } },
    // Two cores: more workers only fight over the CPU with PostgreSQL and Chromium.
    maxWorkers: 2,
  },
});
