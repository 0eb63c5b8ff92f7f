import { pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

const derive = promisify(pbkdf2);

/** passlib's "adapted base64": standard alphabet with "." for "+", no padding. */
const ab64 = (bytes: Buffer) => bytes.toString('base64').replace(/\+/g, '.').replace(/=+$/, '');

/** Odoo (16.0+) refuses fewer rounds than this (MIN_ROUNDS in res_users.py). */
export const ODOO_PBKDF2_ROUNDS = 600_000;

/**
 * A password hash Odoo's CryptContext verifies (passlib `pbkdf2_sha512`), so Marina can set a
 * user's password in the database without a plaintext ever being stored there.
 */
export async function odooPasswordHash(
  password: string,
  rounds = ODOO_PBKDF2_ROUNDS,
  salt = randomBytes(16),
): Promise<string> {
  const checksum = await derive(password, salt, rounds, 64, 'sha512');
  return `$pbkdf2-sha512$${rounds}$${ab64(salt)}$${ab64(checksum)}`;
}
