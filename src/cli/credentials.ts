import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Credentials {
  url: string;
  token: string;
}

export const DEFAULT_URL = 'http://localhost:9998';

export function credentialsPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || join(homedir(), '.config');
  return join(base, 'marina', 'credentials.json');
}

/** MARINA_URL and MARINA_TOKEN win over the file written by `marina login`. */
export async function loadCredentials(env: NodeJS.ProcessEnv = process.env): Promise<Partial<Credentials>> {
  let stored: Partial<Credentials> = {};
  try {
    stored = JSON.parse(await readFile(credentialsPath(env), 'utf8')) as Partial<Credentials>;
  } catch {
    // No file yet: not logged in.
  }
  return {
    url: env.MARINA_URL?.trim() || stored.url,
    token: env.MARINA_TOKEN?.trim() || stored.token,
  };
}

export async function saveCredentials(credentials: Credentials, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const file = credentialsPath(env);
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

export async function forgetCredentials(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await rm(credentialsPath(env), { force: true });
}
