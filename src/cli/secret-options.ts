import { Option } from 'commander';
import { CliUsageError } from './errors.js';
import { type SecretSource, secretFrom } from './prompt.js';

/**
 * A password or token: `--<name>-file`, `--<name>-stdin`, the environment, or asked when `question`
 * is given. Never an argument, which `ps` and the shell's history would show.
 */
export async function secretOption(
  source: SecretSource,
  name: 'password' | 'token',
  question?: string,
): Promise<string | undefined> {
  try {
    return await secretFrom(source, {
      file: `--${name}-file`,
      stdin: `--${name}-stdin`,
      env: name === 'password' ? 'MARINA_PASSWORD' : 'MARINA_TOKEN',
      question,
    });
  } catch (error) {
    throw new CliUsageError((error as Error).message);
  }
}

export const passwordFileOption = (what: string) =>
  new Option('--password-file <path>', `a file holding ${what} (else MARINA_PASSWORD, or asked)`);
export const passwordStdinOption = (what: string) => new Option('--password-stdin', `read ${what} from standard input`);

export const jsonOption = () => new Option('--json', 'print JSON for scripts');
