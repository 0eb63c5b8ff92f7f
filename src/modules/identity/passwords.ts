import { hash, verify } from '@node-rs/argon2';
import { MarinaError } from '../../platform/errors.js';
import { limits } from '../../platform/validation.js';

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
// algorithm 2 is Argon2id (a const enum in the typings, which isolated modules cannot import).
const options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

const common = new Set([
  'password1234',
  'password12345',
  'password123456',
  '123456789012',
  '1234567890123',
  'qwertyuiopas',
  'qwerty123456',
  'administrator',
  'adminadminadmin',
  'letmein12345',
  'welcome12345',
  'iloveyou1234',
  'changeme1234',
  'marinamarina',
  'odooodooodoo',
]);

/** Explains why a password is weak, or returns undefined when it is acceptable. */
export function passwordWeakness(password: string, email?: string): string | undefined {
  if (password.length < limits.password.min) return `Use at least ${limits.password.min} characters.`;
  if (password.length > limits.password.max) return `Use at most ${limits.password.max} characters.`;
  if (new Set(password).size < 5) return 'Use at least 5 different characters.';
  const lower = password.toLowerCase();
  if (common.has(lower)) return 'This password is on the list of the most common passwords.';
  const local = email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local)) return 'The password must not contain your email name.';
  return undefined;
}

export function requireStrongPassword(password: unknown, email?: string, field = 'password'): string {
  if (typeof password !== 'string') {
    throw new MarinaError('MARINA_E_VALIDATION', 'A password is required.', { field });
  }
  const weakness = passwordWeakness(password, email);
  if (weakness) throw new MarinaError('MARINA_E_WEAK_PASSWORD', `The password is too weak: ${weakness}`, { field });
  return password;
}

export const hashPassword = (password: string): Promise<string> => hash(password, options);

// Compared against when the account does not exist, so a wrong email takes as long as a wrong password.
let decoy: Promise<string> | undefined;

export async function verifyPassword(passwordHash: string | null | undefined, password: string): Promise<boolean> {
  if (password.length > limits.password.max) return false;
  if (!passwordHash) {
    decoy ??= hash('decoy-password-for-timing', options);
    await verify(await decoy, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}
