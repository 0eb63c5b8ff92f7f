import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SecretBox } from '../platform/secrets/secret-box.js';

/**
 * The key that encrypts stored secrets: MARINA_SECRET_KEY, or `secret.key` in the data folder,
 * generated once with mode 0600 (32 random bytes in hex, from which HKDF derives the box's key).
 * Back it up with the data: without it the secrets are lost.
 */
export async function loadSecretBox(secretKey: string | undefined, dataDir: string): Promise<SecretBox> {
  if (secretKey) return SecretBox.fromPassphrase(secretKey);
  const file = join(dataDir, 'secret.key');
  try {
    return SecretBox.fromPassphrase((await readFile(file, 'utf8')).trim());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dataDir, { recursive: true, mode: 0o711 });
  const key = randomBytes(32).toString('hex');
  try {
    await writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
    return SecretBox.fromPassphrase(key);
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return SecretBox.fromPassphrase((await readFile(file, 'utf8')).trim());
    throw error;
  }
}
