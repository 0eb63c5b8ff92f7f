import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from './program.js';

/** Every command under `command`, with its full name. */
function commands(command: Command, prefix = ''): { name: string; command: Command }[] {
  const name = `${prefix} ${command.name()}`.trim();
  return [{ name, command }, ...command.commands.flatMap((sub) => commands(sub, name))];
}

/** Words that name a secret in an option (an access key id, a host key fingerprint are not secrets). */
const SECRET = /password|secret|token|passphrase|private-key/;

describe('the CLI', () => {
  it('takes no secret as an argument: only a file, standard input or a prompt', () => {
    const offending: string[] = [];
    for (const { name, command } of commands(buildProgram())) {
      for (const option of command.options) {
        const long = option.long ?? '';
        const takesValue = option.required || option.optional;
        if (takesValue && SECRET.test(long) && !long.endsWith('-file')) offending.push(`${name} ${option.flags}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('offers a file or standard input wherever it asks for a password or token', () => {
    const flagsOf = (path: string) => {
      const found = commands(buildProgram()).find((c) => c.name === path);
      if (!found) throw new Error(`no command ${path}`);
      return found.command.options.map((o) => o.long);
    };
    expect(flagsOf('marina admin create')).toEqual(expect.arrayContaining(['--password-file', '--password-stdin']));
    expect(flagsOf('marina login')).toEqual(
      expect.arrayContaining(['--password-file', '--password-stdin', '--token-file', '--token-stdin']),
    );
  });
});
