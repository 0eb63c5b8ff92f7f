import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** Reads a secret from the terminal without echoing it, or one line from piped standard input. */
export async function readSecret(question: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) {
    const rl = createInterface({ input });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    return '';
  }
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          input.setRawMode(false);
          input.pause();
          input.off('data', onData);
          process.stderr.write('\n');
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          input.setRawMode(false);
          reject(new Error('cancelled'));
          return;
        }
        if (char === '\u007f') value = value.slice(0, -1);
        else value += char;
      }
    };
    input.on('data', onData);
  });
}

/** Asks a yes/no question on the terminal; without a terminal the answer is no (scripts pass --yes). */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/** Where a command may take one secret from; never the command line, which `ps` and shell history keep. */
export interface SecretSource {
  /** `--…-file <path>`: the file's content without the final line break an editor adds. */
  file?: string;
  /** `--…-stdin`: one line of standard input. */
  stdin?: boolean;
}

/**
 * One secret from its file, standard input, an environment variable, or — as a last resort and
 * only when `question` is given — asked on the terminal. Returns undefined when none applies.
 */
export async function secretFrom(
  source: SecretSource,
  names: { file: string; stdin: string; env?: string; question?: string },
): Promise<string | undefined> {
  if (source.file !== undefined && source.stdin) throw new Error(`Give ${names.file} or ${names.stdin}, not both.`);
  let value: string | undefined;
  if (source.file !== undefined) {
    let text: string;
    try {
      text = await readFile(source.file, 'utf8');
    } catch (error) {
      throw new Error(`${names.file}: cannot read ${source.file} (${(error as NodeJS.ErrnoException).code ?? error}).`);
    }
    value = text.replace(/\r?\n$/, '');
    if (value === '') throw new Error(`${names.file}: ${source.file} is empty.`);
    return value;
  }
  if (source.stdin) {
    if (process.stdin.isTTY) throw new Error(`${names.stdin}: pipe the value in; standard input is a terminal.`);
    value = await readSecret('');
    if (value === '') throw new Error(`${names.stdin}: standard input gave nothing.`);
    return value;
  }
  const fromEnv = names.env ? process.env[names.env] : undefined;
  if (fromEnv) return fromEnv;
  return names.question === undefined ? undefined : readSecret(names.question);
}
