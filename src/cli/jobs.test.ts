import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseSince, registerJobCommands } from './jobs.js';

describe('marina jobs', () => {
  it('has cancel and retry, and ls filters by kind, instance and time', () => {
    const program = new Command();
    registerJobCommands(program, () => Promise.reject(new Error('no server in this test')));
    const jobs = program.commands.find((c) => c.name() === 'jobs');
    const names = jobs?.commands.map((c) => c.name()) ?? [];
    expect(names).toEqual(expect.arrayContaining(['ls', 'show', 'watch', 'cancel', 'retry']));
    const ls = jobs?.commands.find((c) => c.name() === 'ls');
    const flags = ls?.options.map((o) => o.long) ?? [];
    expect(flags).toEqual(expect.arrayContaining(['--status', '--kind', '--instance', '--since', '--until']));
  });

  it('reads a time filter as a span back from now or as a date, and refuses anything else', () => {
    const now = Date.parse('2026-12-03T12:00:00Z');
    expect(parseSince('30m', now)).toBe('2026-12-03T11:30:00.000Z');
    expect(parseSince('24h', now)).toBe('2026-12-02T12:00:00.000Z');
    expect(parseSince('7d', now)).toBe('2026-11-26T12:00:00.000Z');
    expect(parseSince('2026-12-01T08:00Z', now)).toBe('2026-12-01T08:00:00.000Z');
    expect(() => parseSince('yesterday', now)).toThrow(/not a time/);
  });
});
