/**
 * Stand-in for Paynow's web API, named in TESTING.md-style: implements exactly the wire protocol
 * of developers.paynow.co.zw for the calls Marina makes, on 127.0.0.1 — never evidence of how
 * Paynow behaves beyond that documented protocol.
 * - POST /interface/initiatetransaction (web) and /interface/remotetransaction (express checkout,
 *   + phone, method): form fields id, reference, amount, additionalinfo, returnurl, resulturl,
 *   authemail, status=Message, hash. Answers `status=Ok&...&hash=` signed with the integration's
 *   key, or an unsigned `status=Error&error=...` (unknown id, wrong hash, bad field).
 * - POST /interface/returntransaction?guid=<guid>, the poll URL (empty body): reference,
 *   paynowreference, amount, status, pollurl, hash, in the order of Paynow's polling example.
 * - GET /payment/<guid>, the browser page: "Pay" or "Cancel" posts the signed result callback
 *   (reference, amount, paynowreference, pollurl, status, hash) to resulturl, then redirects to returnurl.
 * - Test-mode wallet numbers: 0771111111 becomes Paid after the first poll, 0772222222 after the
 *   third, 0773333333 Cancelled after the first, 0774444444 is refused at initiation ("Insufficient
 *   balance"); other numbers wait for settle().
 * The hash is computed here with node:crypto, apart from Marina's client, so a mistake in the
 * client's hashing cannot hide by being made on both sides.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

/** Paynow's transaction statuses, as its status update documents them. */
type Open = 'Created' | 'Sent';
export type PaynowRawStatus =
  | Open
  | 'Awaiting Delivery'
  | 'Delivered'
  | 'Paid'
  | 'Cancelled'
  | 'Failed'
  | 'Disputed'
  | 'Refunded';
type Fields = Array<[string, string]>;
type Tamper = boolean | 'amount' | 'status';
export type PaynowFailMode = 'http500' | 'hang' | 'badhash' | 'garbage';

export interface PaynowStandinTransaction {
  guid: string;
  integrationId: string;
  kind: 'web' | 'mobile';
  reference: string;
  /** Two decimals, as Paynow echoes it ("10.50" for "10.5"). */
  amount: string;
  additionalInfo: string;
  returnUrl: string;
  resultUrl: string;
  authEmail: string;
  phone?: string;
  method?: string;
  paynowReference: string;
  status: string;
  polls: number;
}

export interface PaynowStandin {
  baseUrl: string;
  transactions: Map<string, PaynowStandinTransaction>;
  /** Every request that reached it, its form fields in the order they came. */
  requests: Array<{ method: string; path: string; body: string; fields: Fields }>;
  /** Every result callback it posted, with its raw body and what the result URL answered. */
  callbacks: Array<{ url: string; body: string; httpStatus?: number; error?: string }>;
  find(referenceOrGuid: string): PaynowStandinTransaction;
  /**
   * Sets the status and posts the signed result callback; `tamper` alters the message after
   * signing (true or 'amount': the amount, 'status': the status) and leaves the transaction as it was.
   */
  settle(referenceOrGuid: string, status?: PaynowRawStatus, options?: { tamper?: Tamper }): Promise<Response>;
  /** Posts arbitrary fields signed with the integration's key: unknown references, duplicates. */
  postCallback(integrationId: string, resultUrl: string, fields: Fields): Promise<Response>;
  /** The next /interface/ request fails this way (queued, one mode per request). */
  failNext(mode: PaynowFailMode): void;
  close(): Promise<void>;
}

/** What the test numbers do: become `status` once polled `afterPolls` times. */
const SCRIPTED: Record<string, { afterPolls: number; status: PaynowRawStatus }> = {
  '0771111111': { afterPolls: 1, status: 'Paid' },
  '0772222222': { afterPolls: 3, status: 'Paid' },
  '0773333333': { afterPolls: 1, status: 'Cancelled' },
};

const hashOf = (fields: Fields, key: string) => {
  const values = fields.filter(([n]) => n.toLowerCase() !== 'hash').map(([, v]) => v);
  const digest = createHash('sha512').update(values.join('') + key, 'utf8');
  return digest.digest('hex').toUpperCase();
};
const signed = (fields: Fields, key: string): Fields => [...fields, ['hash', hashOf(fields, key)]];
/** An answer, signed with `key` when there is one (Paynow signs Ok answers, not errors). */
type Answer = { answer: Fields; key?: string };
/** Ordered fields from an object literal (its key order is the message order). */
const fieldsOf = (record: Record<string, string>): Fields => [...new URLSearchParams(record)];
const refusal = (message: string): Answer => ({ answer: fieldsOf({ status: 'Error', error: message }) });
const GARBAGE = '<html><body><h1>Service Unavailable</h1></body></html>';
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const form = (fields: Fields) => new URLSearchParams(fields).toString();
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export async function startPaynowStandin(options: {
  integrations: Record<string, { key: string; currency: string }>;
}): Promise<PaynowStandin> {
  const transactions = new Map<string, PaynowStandinTransaction>();
  const requests: PaynowStandin['requests'] = [];
  const callbacks: PaynowStandin['callbacks'] = [];
  const failures: PaynowFailMode[] = [];
  const pending = new Set<Promise<unknown>>();
  let nextPaynowReference = 10_001;
  let baseUrl = '';

  const keyOf = (t: PaynowStandinTransaction) => options.integrations[t.integrationId]?.key ?? '';
  const pollUrlOf = (t: PaynowStandinTransaction) => `${baseUrl}/interface/returntransaction?guid=${t.guid}`;
  // The status update's documented order.
  const resultFields = (t: PaynowStandinTransaction, status: string) => {
    const { reference, amount, paynowReference: paynowreference } = t;
    return fieldsOf({ reference, amount, paynowreference, pollurl: pollUrlOf(t), status });
  };

  async function post(url: string, fields: Fields): Promise<Response> {
    const entry: PaynowStandin['callbacks'][number] = { url, body: form(fields) };
    callbacks.push(entry);
    const init = { method: 'POST', headers: FORM, body: entry.body, signal: AbortSignal.timeout(5_000) };
    const response = await fetch(url, init).catch((error: unknown) => {
      entry.error = String(error);
      throw error;
    });
    entry.httpStatus = response.status;
    return response;
  }

  /** A status change as Paynow makes one: stored, then told to the result URL (best effort). */
  function change(t: PaynowStandinTransaction, status: string): Promise<Response> {
    t.status = status;
    return post(t.resultUrl, signed(resultFields(t, status), keyOf(t)));
  }
  function changeInBackground(t: PaynowStandinTransaction, status: string): void {
    const done = change(t, status)
      .then((r) => r.text())
      .catch(() => undefined)
      .finally(() => pending.delete(done));
    pending.add(done);
  }

  function find(referenceOrGuid: string): PaynowStandinTransaction {
    const all = [...transactions.values()];
    const found = transactions.get(referenceOrGuid) ?? all.findLast((t) => t.reference === referenceOrGuid);
    if (!found) throw new Error(`Paynow stand-in: no transaction ${referenceOrGuid}`);
    return found;
  }

  function initiate(fields: Fields, kind: 'web' | 'mobile'): Answer {
    const get = (name: string) => fields.find(([n]) => n.toLowerCase() === name)?.[1];
    const integration = options.integrations[get('id') ?? ''];
    if (!integration) return refusal('Invalid Id.');
    const given = Buffer.from(get('hash') ?? '');
    const expected = Buffer.from(hashOf(fields, integration.key));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refusal('Invalid hash');
    for (const name of ['reference', 'amount', 'returnurl', 'resulturl', 'status']) {
      if (!get(name)) return refusal(`Missing field: ${name}`);
    }
    if (get('status') !== 'Message') return refusal('Invalid status');
    const amount = /^(\d{1,15})(?:\.(\d{1,2}))?$/.exec(get('amount') ?? '');
    if (!amount || BigInt(`${amount[1]}${(amount[2] ?? '').padEnd(2, '0')}`) <= 0n) return refusal('Invalid amount');
    const phone = get('phone') ?? '';
    if (kind === 'mobile') {
      if (!get('authemail')) return refusal('Missing field: authemail');
      if (!['ecocash', 'onemoney'].includes(get('method') ?? '')) return refusal('Invalid payment method');
      if (!/^07\d{8}$/.test(phone)) return refusal('Invalid phone number');
      if (phone === '0774444444') return refusal('Insufficient balance');
    }
    const t: PaynowStandinTransaction = {
      guid: randomUUID(),
      integrationId: get('id') ?? '',
      kind,
      reference: get('reference') ?? '',
      amount: `${BigInt(amount[1] ?? '0')}.${(amount[2] ?? '').padEnd(2, '0')}`,
      additionalInfo: get('additionalinfo') ?? '',
      returnUrl: get('returnurl') ?? '',
      resultUrl: get('resulturl') ?? '',
      authEmail: get('authemail') ?? '',
      paynowReference: String(nextPaynowReference++),
      status: kind === 'web' ? 'Created' : 'Sent',
      polls: 0,
    };
    if (kind === 'mobile') Object.assign(t, { phone, method: get('method') });
    transactions.set(t.guid, t);
    const [pollurl, paynowreference] = [pollUrlOf(t), t.paynowReference];
    const instructions = `Approve ${t.amount} on ${phone}: dial *151# and enter your PIN`;
    // Each in the order of Paynow's documented answers.
    const answer: Record<string, string> =
      kind === 'web'
        ? { status: 'Ok', browserurl: `${baseUrl}/payment/${t.guid}`, pollurl, paynowreference }
        : { status: 'Ok', instructions, paynowreference, pollurl };
    return { answer: fieldsOf(answer), key: integration.key };
  }

  function pollAnswer(guid: string): Answer {
    const t = transactions.get(guid);
    if (!t) return refusal('Invalid transaction');
    t.polls += 1;
    const { reference, paynowReference: paynowreference, amount, status } = t;
    // The order of Paynow's polling example, which differs from the status update's.
    const answer = fieldsOf({ reference, paynowreference, amount, status, pollurl: pollUrlOf(t) });
    // The handset answers after the merchant has asked: the next poll (and the callback) tells.
    const script = SCRIPTED[t.phone ?? ''];
    if (script && t.status === 'Sent' && t.polls >= script.afterPolls) changeInBackground(t, script.status);
    return { answer, key: keyOf(t) };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await text(req);
    const url = new URL(req.url ?? '/', baseUrl);
    const fields: Fields = [...new URLSearchParams(body)];
    requests.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, body, fields });
    const send = (status: number, content: string, headers: Record<string, string> = {}) =>
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers }).end(content);
    const page = /^\/payment\/([0-9a-f-]{36})$/.exec(url.pathname);
    if (page) {
      const t = transactions.get(page[1] ?? '');
      if (t?.kind !== 'web') return void send(404, 'No such transaction');
      const open = t.status === 'Created' || t.status === 'Sent';
      if (req.method === 'POST') {
        const action = fields.find(([n]) => n === 'action')?.[1];
        if (!open || (action !== 'pay' && action !== 'cancel')) return void send(409, `Transaction is ${t.status}`);
        // Paynow tells the merchant's server before it sends the payer back, so Marina knows first.
        await change(t, action === 'pay' ? 'Paid' : 'Cancelled')
          .then((r) => r.text())
          .catch(() => undefined);
        return void send(303, '', { location: t.returnUrl });
      }
      const currency = options.integrations[t.integrationId]?.currency ?? '';
      const buttons = open
        ? `<form method="post"><button name="action" value="pay">Pay</button> <button name="action" value="cancel">Cancel</button></form>`
        : `<p>This transaction is ${escapeHtml(t.status)}.</p>`;
      const html = `<!doctype html><html><head><meta charset="utf-8"><title>Paynow stand-in</title></head><body><h1>Paynow stand-in</h1><p>Reference <span id="reference">${escapeHtml(t.reference)}</span>: <span id="amount">${escapeHtml(`${currency} ${t.amount}`)}</span></p><p>${escapeHtml(t.additionalInfo)}</p>${buttons}</body></html>`;
      return void send(200, html, { 'content-type': 'text/html; charset=utf-8' });
    }

    const routes: Record<string, () => Answer> = {
      '/interface/initiatetransaction': () => initiate(fields, 'web'),
      '/interface/remotetransaction': () => initiate(fields, 'mobile'),
      '/interface/returntransaction': () => pollAnswer(url.searchParams.get('guid') ?? ''),
    };
    const route = routes[url.pathname];
    if (!route) return void send(404, 'Not found');
    if (req.method !== 'POST') return void send(405, 'Method not allowed');
    const failure = failures.shift();
    if (failure === 'hang') return; // never answered; close() ends the socket
    if (failure === 'http500') return void send(500, 'Internal Server Error');
    if (failure === 'garbage') return void send(200, GARBAGE, { 'content-type': 'text/html' });
    const { answer, key } = route();
    if (key === undefined) return void send(200, form(answer)); // errors go unsigned, as Paynow's do
    const message = signed(answer, key);
    // A hash made with another key: what a forged or corrupted answer looks like to the client.
    if (failure === 'badhash') message[message.length - 1] = ['hash', hashOf(answer, `${key}-not`)];
    send(200, form(message));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    transactions,
    requests,
    callbacks,
    find,
    async settle(referenceOrGuid, status = 'Paid', opts = {}) {
      const t = find(referenceOrGuid);
      if (!opts.tamper) return change(t, status);
      // A forger's message: signed over other values, so the real transaction does not move.
      const signedFor = opts.tamper === 'status' ? (status === 'Failed' ? 'Cancelled' : 'Failed') : status;
      const message = signed(resultFields(t, signedFor), keyOf(t)).map(([n, v]): [string, string] => {
        if (n === 'status') return [n, status];
        if (n === 'amount' && opts.tamper !== 'status') return [n, t.amount === '0.01' ? '0.02' : '0.01'];
        return [n, v];
      });
      return post(t.resultUrl, message);
    },
    postCallback(integrationId, resultUrl, fields) {
      return post(resultUrl, signed(fields, options.integrations[integrationId]?.key ?? ''));
    },
    failNext(mode) {
      failures.push(mode);
    },
    async close() {
      await Promise.allSettled([...pending]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
