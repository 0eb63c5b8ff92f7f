import { docker } from '../helpers/docker.js';

/** An Odoo session (cookie) for JSON-RPC calls, as the web client holds one. */
export async function odooSession(url: string, db: string, login: string, password: string): Promise<string> {
  const response = await fetch(`${url}/web/session/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { db, login, password } }),
  });
  const body = (await response.json()) as { result?: { uid: number }; error?: unknown };
  if (!body.result?.uid) throw new Error(`login to ${db} at ${url} failed: ${JSON.stringify(body.error)}`);
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('session_id='));
  if (!cookie) throw new Error('Odoo set no session cookie');
  return cookie.split(';')[0] ?? '';
}

export async function callKw<T>(
  url: string,
  cookie: string,
  model: string,
  method: string,
  args: unknown[],
  kwargs: Record<string, unknown> = {},
): Promise<T> {
  const response = await fetch(`${url}/web/dataset/call_kw/${model}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { model, method, args, kwargs } }),
  });
  const body = (await response.json()) as { result?: T; error?: { data?: { message?: string } } };
  if (body.error) throw new Error(`${model}.${method}: ${body.error.data?.message ?? JSON.stringify(body.error)}`);
  return body.result as T;
}

export async function waitForOdoo(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/web/health`, { signal: AbortSignal.timeout(3000) });
      if (response.status === 200) return;
      last = `answered ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Odoo at ${url} did not answer /web/health within ${timeoutMs} ms (${last})`);
}

/** Runs a command in a running container; returns what it printed (a TTY: one stream, no multiplexing). */
export async function execIn(containerId: string, cmd: string[]): Promise<string> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
  let out = '';
  stream.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  await new Promise<void>((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  return out;
}

/**
 * Reads a partner's name the way an API client does, with no session: each call signs in with
 * the password (JSON-RPC `execute_kw`), so it keeps working across a restart of Odoo.
 */
export const partnerName =
  (instance: { url: string; dbName: string }, user: { login: string; password: string }, partnerId: number) =>
  async (): Promise<string | undefined> => {
    const call = async (service: string, method: string, args: unknown[]) => {
      const response = await fetch(`${instance.url}/jsonrpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', method: 'call', params: { service, method, args } }),
        signal: AbortSignal.timeout(3000),
      });
      const body = (await response.json()) as { result?: unknown; error?: unknown };
      if (body.error || !response.ok) throw new Error(JSON.stringify(body.error ?? response.status));
      return body.result;
    };
    const uid = await call('common', 'login', [instance.dbName, user.login, user.password]);
    if (typeof uid !== 'number') return undefined;
    const rows = (await call('object', 'execute_kw', [
      instance.dbName,
      uid,
      user.password,
      'res.partner',
      'read',
      [[partnerId], ['name']],
    ])) as { name: string }[];
    return rows[0]?.name;
  };
