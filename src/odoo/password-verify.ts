import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const derive = promisify(pbkdf2);

/** passlib's "adapted base64" back to bytes ("." stands for "+", no padding). */
const unab64 = (text: string) => Buffer.from(text.replace(/\./g, '+'), 'base64');

/** More rounds than any hash Odoo writes: a hash asking for more is not worth the CPU. */
const MAX_ROUNDS = 10_000_000;

/**
 * Whether a password opens an Odoo password hash (passlib `pbkdf2_sha512`, what Odoo 16+ writes,
 * and what `odooPasswordHash` makes). Any other scheme answers false: Marina then says it does not
 * know the password, which is true, rather than guessing.
 */
export async function odooPasswordMatches(password: string, hash: string | null): Promise<boolean> {
  if (!hash || password === '') return false;
  const parts = hash.split('$');
  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== 'pbkdf2-sha512') return false;
  const rounds = Number(parts[2]);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > MAX_ROUNDS) return false;
  const salt = unab64(parts[3] ?? '');
  const expected = unab64(parts[4] ?? '');
  if (expected.length === 0) return false;
  const computed = await derive(password, salt, rounds, expected.length, 'sha512');
  return timingSafeEqual(computed, expected);
}
