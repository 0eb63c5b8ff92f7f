import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { undoLines } from './instance-undo.js';
import { registerInstanceCommands } from './instances.js';

const now = Date.parse('2026-12-03T15:00:00Z');
const undo = { until: '2026-12-04T14:30:00.000Z', operationId: '0f3e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b' };

describe('marina instances undo-restore', () => {
  it('is an instance command with --confirm, --no-wait and --json', () => {
    const program = new Command();
    registerInstanceCommands(program, () => Promise.reject(new Error('no server in this test')));
    const instances = program.commands.find((c) => c.name() === 'instances');
    const undoRestore = instances?.commands.find((c) => c.name() === 'undo-restore');
    expect(undoRestore?.registeredArguments.map((a) => a.name())).toEqual(['instance']);
    expect(undoRestore?.options.map((o) => o.long)).toEqual(['--confirm', '--no-wait', '--json']);
    expect(undoRestore?.description()).toMatch(/kept as the undo in turn/);
  });

  it('shows what put the data aside, until when it is kept, and how to swap it back', () => {
    const lines = undoLines(undo, {
      ref: 'acme/erp/shop',
      job: { kind: 'backup.restore', finishedAt: '2026-12-03T14:30:00.000Z' },
      now,
      timeZone: 'UTC',
    });
    expect(lines).toEqual([
      '  Undo:       the data the restore replaced (2026-12-03 14:30) is kept until 2026-12-04 14:30 (in 23h 30m) — job 0f3e2c1a-5b6d-4e7f-8a9b-0c1d2e3f4a5b',
      '              swap it back: marina instances undo-restore acme/erp/shop',
    ]);
    expect(undoLines(undo, { ref: 'x', job: { kind: 'instance.clone', finishedAt: null }, now })[0]).toContain(
      'the data the clone replaced is kept until',
    );
    expect(undoLines(undo, { ref: 'x', job: { kind: 'instance.undo_restore', finishedAt: null }, now })[0]).toContain(
      'the data the last undo swapped out is kept',
    );
    // The job could not be read: the line still says until when, and which job.
    expect(undoLines(undo, { ref: 'x', job: null, now })[0]).toMatch(
      /the last restore replaced is kept until .* — job 0f3e/,
    );
    expect(undoLines(null, { ref: 'x', now })).toEqual([]);
  });
});
