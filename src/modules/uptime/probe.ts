import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** What one path of a check answered: a status (0: no answer), and why not when it failed. */
export interface PathAnswer {
  status: number;
  /** The error (refused, timeout) or a short excerpt of a failing answer's body; bounded. */
  error: string | null;
  ms: number;
}

const EXCERPT = 300;

/** A good answer: Odoo or the proxy served the page (a redirect to the login counts). */
export const answered = (status: number) => status >= 200 && status < 400;

/**
 * One GET with a hard deadline, reading at most a short excerpt of the body. `connectTo` sends the
 * request to that address (Marina's own proxy on this machine) while the URL's name goes in the Host
 * header and TLS's SNI, so the check does not depend on public DNS. The proxy's certificate is not
 * verified here: certificates are watched by their own rule; this check asks whether pages are served.
 */
export function probe(url: string, timeoutMs: number, connectTo?: { host: string; port: number }): Promise<PathAnswer> {
  const started = performance.now();
  // An instance without a port yet has no address to check: a failed check, not a failed round.
  if (!URL.canParse(url)) return Promise.resolve({ status: 0, error: `no address to check (${url})`, ms: 0 });
  const target = new URL(url);
  const secure = target.protocol === 'https:';
  return new Promise((resolve) => {
    let settled = false;
    const done = (status: number, error: string | null) => {
      if (settled) return;
      settled = true;
      resolve({ status, error: error?.slice(0, EXCERPT) ?? null, ms: Math.round(performance.now() - started) });
    };
    const options = {
      method: 'GET',
      host: connectTo?.host ?? target.hostname.replace(/^\[|\]$/g, ''),
      port: connectTo?.port ?? (target.port === '' ? (secure ? 443 : 80) : Number(target.port)),
      path: `${target.pathname}${target.search}`,
      headers: { host: target.host, 'user-agent': 'Marina-Uptime/1' },
      timeout: timeoutMs,
      // A fresh connection each time: a kept-alive socket would hide a listener that is gone.
      agent: false,
      ...(secure ? { servername: target.hostname, rejectUnauthorized: false } : {}),
    };
    const req = (secure ? httpsRequest : httpRequest)(options, (res) => {
      const status = res.statusCode ?? 0;
      if (answered(status)) {
        res.resume();
        done(status, null);
        return;
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length >= EXCERPT) {
          done(status, `HTTP ${status}: ${body.replace(/\s+/g, ' ').trim()}`);
          res.destroy();
        }
      });
      res.on('end', () => done(status, `HTTP ${status}${body ? `: ${body.replace(/\s+/g, ' ').trim()}` : ''}`));
      res.on('error', () => done(status, `HTTP ${status}`));
    });
    const deadline = setTimeout(() => {
      done(0, `no answer within ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    deadline.unref();
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => done(0, error.code ?? error.message));
    req.on('close', () => clearTimeout(deadline));
    req.end();
  });
}
