import { readFile } from 'node:fs/promises';
import { CliUsageError } from '../errors.js';

/** A secret in a file: its content without the final line break an editor adds. */
export async function secretFile(path: string, option: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliUsageError(`${option}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? error}).`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new CliUsageError(`${option}: ${path} is empty.`);
  return value;
}

/**
 * Secrets never come as plain arguments (they would show in `ps` and the shell's history): from a
 * file, or asked on the terminal, or one line of piped standard input — which can give one secret
 * only, as it ends once read.
 */
export class SecretReader {
  private stdinUsed: string | undefined;

  /** `alternative` says how else to give it, e.g. "use --passphrase-file <path>". */
  async read(what: string, alternative: string, options: { twice?: boolean } = {}): Promise<string> {
    const { readSecret } = await import('../prompt.js');
    const tty = process.stdin.isTTY === true;
    if (!tty && this.stdinUsed)
      throw new CliUsageError(`Standard input gave the ${this.stdinUsed} already; for the ${what}, ${alternative}.`);
    const value = await readSecret(`${what[0]?.toUpperCase()}${what.slice(1)}: `);
    if (!tty) this.stdinUsed = what;
    if (value === '')
      throw new CliUsageError(`No ${what} given: type it when asked or pipe it on standard input; or ${alternative}.`);
    if (options.twice && tty) {
      const again = await readSecret(`The ${what} again: `);
      if (again !== value) throw new CliUsageError(`The two ${what}s differ; nothing was changed.`);
    }
    return value;
  }
}
