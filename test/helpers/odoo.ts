import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Real Odoo comes from an Odoo source tree named by ODOO_SOURCE (never part of this project).
 * Without it these tests are skipped, and say so loudly.
 */
export function odooSource(): string | undefined {
  const source = process.env.ODOO_SOURCE;
  if (!source) {
    console.warn('\n*** ODOO_SOURCE is not set: the real-Odoo tests in test/odoo/ are SKIPPED. ***\n');
    return undefined;
  }
  if (!existsSync(join(source, 'odoo-bin'))) throw new Error(`ODOO_SOURCE=${source} holds no odoo-bin`);
  return source;
}

export async function rpcLogin(url: string, db: string, login: string, password: string) {
  const response = await fetch(`${url}/web/session/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db, login, password } }),
  });
  return (await response.json()) as {
    result?: { uid: number; username?: string };
    error?: { data: { name: string; message?: string } };
  };
}
