import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
// @ts-expect-error the paynow SDK ships no types: it is used here only to cross-check the hash (issue #20)
import { Paynow as PaynowSdkClass } from 'paynow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizePaynowStatus, PaynowClient, type PaynowState } from '../src/modules/billing/paynow/client.js';
import { PaynowError, type PaynowErrorKind } from '../src/modules/billing/paynow/errors.js';
import { encodePaynowForm, paynowHash, verifyPaynowHash } from '../src/modules/billing/paynow/hash.js';
import { normalizeZimbabweMobile } from '../src/modules/billing/paynow/validate.js';
import { type PaynowStandin, startPaynowStandin } from './standin/paynow-server.js';

// Marina's Paynow client against the named Paynow stand-in, and its hash against Paynow's
// documented examples and the official `paynow` SDK.

interface PaynowSdk {
  generateHash(values: Record<string, string>, key: string): string;
  verifyHash(values: Record<string, string>): boolean;
  createPayment(reference: string, authEmail?: string): { add(title: string, amount: number): unknown };
  build(payment: unknown): Record<string, string>;
  parseStatusUpdate(body: string): { reference?: string; amount?: string; status?: string };
}
const Sdk = PaynowSdkClass as new (id: string, key: string, resultUrl: string, returnUrl: string) => PaynowSdk;

/** The key of Paynow's hashing examples; like every Paynow key, a lowercase GUID. */
const DOC_KEY = '3e9fed89-60e1-4ce5-ab6e-6b1eb2d4f977';
const ZWG_KEY = randomUUID();

let standin: PaynowStandin;
let receiver: Server;
let receiverUrl = '';
const received: string[] = [];
let usd: PaynowClient;
let zwg: PaynowClient;

beforeAll(async () => {
  standin = await startPaynowStandin({
    integrations: { '1201': { key: DOC_KEY, currency: 'USD' }, '1202': { key: ZWG_KEY, currency: 'ZWG' } },
  });
  // Marina's result URL, as far as these tests need one: it keeps each callback's raw body.
  receiver = createServer(async (req, res) => {
    received.push(await text(req));
    res.end('OK');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  usd = new PaynowClient({ integrationId: '1201', integrationKey: DOC_KEY, currency: 'USD', baseUrl: standin.baseUrl });
  zwg = new PaynowClient({ integrationId: '1202', integrationKey: ZWG_KEY, currency: 'ZWG', baseUrl: standin.baseUrl });
});

afterAll(async () => {
  await standin?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

const order = (reference: string, amountMinor = 1999n) => {
  const [returnUrl, resultUrl] = [`${receiverUrl}/billing/return?invoice=${reference}`, `${receiverUrl}/paynow/result`];
  return { reference, amountMinor, additionalInfo: `Marina invoice ${reference}`, returnUrl, resultUrl };
};
const PAYER = 'billing@marina.example';
const mobile = (reference: string, phone: string, method: 'ecocash' | 'onemoney' = 'ecocash') => ({
  ...order(reference),
  authEmail: PAYER,
  phone,
  method,
});

async function failure(promise: Promise<unknown>, kind: PaynowErrorKind): Promise<PaynowError> {
  const error = await promise.catch((e: unknown) => e); // a resolved value fails the next line
  expect(error).toBeInstanceOf(PaynowError);
  expect((error as PaynowError).kind, String(error)).toBe(kind);
  return error as PaynowError;
}
const thrown = (kind: PaynowErrorKind, fn: () => unknown) => failure(Promise.resolve().then(fn), kind);

/** The states seen polling until the transaction leaves 'pending' (at most `max` polls). */
async function pollStates(client: PaynowClient, pollUrl: string, max = 8): Promise<PaynowState[]> {
  const seen: PaynowState[] = [];
  while (seen.length < max) {
    const { status } = await client.poll(pollUrl);
    seen.push(status);
    if (status !== 'pending') break;
    await new Promise((resolve) => setTimeout(resolve, 20)); // the scripted callback is posted in the background
  }
  return seen;
}
const lastCallback = (reference: string) =>
  received.filter((body) => new URLSearchParams(body).get('reference') === reference).pop() ?? '';

describe('Paynow hash', () => {
  it('gives the hashes of Paynow’s documented examples', () => {
    const outbound: [string, string][] = [
      ['id', '1201'],
      ['reference', 'TEST REF'],
      ['amount', '99.99'],
      ['additionalinfo', 'A test ticket transaction'],
      ['returnurl', 'http://www.google.com/search?q=returnurl'],
      ['resulturl', 'http://www.google.com/search?q=resulturl'],
      ['status', 'Message'],
    ];
    expect(paynowHash(outbound, DOC_KEY)).toBe(
      '2A033FC38798D913D42ECB786B9B19645ADEDBDE788862032F1BD82CF3B92DEF84F316385D5B40DBB35F1A4FD7D5BFE73835174136463CDD48C9366B0749C689',
    );
    const inbound = [
      ...new URLSearchParams(
        'status=Ok&browserurl=https%3a%2f%2fstaging.paynow.co.zw%2fPayment%2fConfirmPayment%2f9510&pollurl=https%3a%2f%2fstaging.paynow.co.zw%2fInterface%2fCheckPayment%2f%3fguid%3dc7ed41da-0159-46da-b428-69549f770413&paynowreference=9510&hash=750DD0B0DF374678707BB5AF915AF81C228B9058AD57BB7120569EC68BBB9C2EFC1B26C6375D2BC562AC909B3CD6B2AF1D42E1A5E479FFAC8F4FB3FDCE71DF4D',
      ),
    ];
    expect(verifyPaynowHash(inbound, DOC_KEY)).toBe(true);
    expect(verifyPaynowHash(inbound, ZWG_KEY)).toBe(false);
    const changed = inbound.map(([n, v]): [string, string] => [n, n === 'paynowreference' ? '9511' : v]);
    expect(verifyPaynowHash(changed, DOC_KEY)).toBe(false);
    expect(verifyPaynowHash(inbound.slice(0, -1), DOC_KEY)).toBe(false); // no hash
    expect(verifyPaynowHash([...inbound, inbound.at(-1) as [string, string]], DOC_KEY)).toBe(false); // two
  });

  it('agrees with the official paynow SDK, both ways', async () => {
    const sdk = new Sdk('1201', DOC_KEY, `${receiverUrl}/paynow/result`, `${receiverUrl}/billing/return`);
    const samples: Record<string, string>[] = [
      { id: '1201', reference: 'INV-2027-000123', amount: '19.99', additionalinfo: 'Hosting', status: 'Message' },
      { status: 'Ok', instructions: 'Dial *151# – approve “Café” 10.50 ZWG & more = fine', pollurl: 'x?y=z' },
      { reference: 'A', amount: '0.05', paynowreference: '1,082', pollurl: '', status: 'Awaiting Delivery' },
    ];
    for (const values of samples) {
      expect(paynowHash(Object.entries(values), DOC_KEY)).toBe(sdk.generateHash(values, DOC_KEY));
    }
    // The SDK's own request verifies here (its info also shows why it is not used: "Hosting" cut to "Hostin").
    const payment = sdk.createPayment('INV-2027-000123', 'billing@marina.example');
    payment.add('Hosting', 19.99);
    const built = sdk.build(payment);
    expect(built.additionalinfo).toBe('Hostin');
    expect(verifyPaynowHash(Object.entries(built), DOC_KEY)).toBe(true);
    // And the SDK accepts what Marina's client sends and what the stand-in signs.
    await usd.initiate(order('SDK-CHECK'));
    const sent = standin.requests.filter((r) => r.path === '/interface/initiatetransaction').at(-1);
    expect(sdk.verifyHash(Object.fromEntries(sent?.fields ?? []))).toBe(true);
    await standin.settle('SDK-CHECK', 'Paid');
    expect(sdk.parseStatusUpdate(lastCallback('SDK-CHECK'))).toMatchObject({ reference: 'SDK-CHECK', status: 'Paid' });
  });
});

describe('PaynowClient against the Paynow stand-in', () => {
  it('runs a web checkout: initiate, the payer pays on the page, callback and poll agree', async () => {
    const checkout = await usd.initiate({ ...order('INV-2027-000001'), authEmail: 'payer@example.com' });
    expect(new URL(checkout.browserUrl).origin).toBe(standin.baseUrl);
    const sent = standin.requests.at(-1);
    const documentedOrder = 'id reference amount additionalinfo returnurl resulturl authemail status hash';
    expect(sent?.fields.map(([n]) => n).join(' ')).toBe(documentedOrder);
    expect(sent?.fields[2]).toEqual(['amount', '19.99']);
    expect(await usd.poll(checkout.pollUrl)).toMatchObject({ status: 'pending', rawStatus: 'Created' });

    const page = await fetch(checkout.browserUrl);
    const html = await page.text();
    expect(html).toContain('>Pay</button>');
    expect(html).toContain('>Cancel</button>');
    const pay = { method: 'POST', body: new URLSearchParams({ action: 'pay' }), redirect: 'manual' as const };
    const paid = await fetch(checkout.browserUrl, pay);
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toBe(order('INV-2027-000001').returnUrl);
    const result = usd.parseResult(lastCallback('INV-2027-000001'));
    expect(result).toEqual({
      reference: 'INV-2027-000001',
      amountMinor: 1999n,
      paynowReference: standin.find('INV-2027-000001').paynowReference,
      pollUrl: checkout.pollUrl,
      status: 'paid',
      rawStatus: 'Paid',
    });
    expect(await usd.poll(checkout.pollUrl)).toEqual(result);
  });

  it('reports a payer who cancels on the page', async () => {
    const checkout = await usd.initiate(order('INV-2027-000002'));
    await fetch(checkout.browserUrl, { method: 'POST', body: new URLSearchParams({ action: 'cancel' }) });
    expect(usd.parseResult(lastCallback('INV-2027-000002')).status).toBe('cancelled');
    expect((await usd.poll(checkout.pollUrl)).status).toBe('cancelled');
  });

  it('sends and reads amounts exactly, in USD and ZWG', async () => {
    for (const [client, amountMinor, text] of [
      [usd, 5n, '0.05'],
      [usd, 100000n, '1000.00'],
      [zwg, 123456789n, '1234567.89'],
      [zwg, 1999n, '19.99'],
    ] as const) {
      const reference = `AMOUNT-${client.currency}-${amountMinor}`;
      const checkout = await client.initiate(order(reference, amountMinor));
      expect(standin.requests.at(-1)?.fields[2]).toEqual(['amount', text]);
      await standin.settle(reference, 'Paid');
      expect(client.parseResult(lastCallback(reference)).amountMinor).toBe(amountMinor);
      expect(await client.poll(checkout.pollUrl)).toMatchObject({ amountMinor, status: 'paid' });
    }
  });

  it('runs express checkout with Paynow’s test numbers', async () => {
    const success = await usd.initiateMobile(mobile('MOBILE-1', '+263 77 111 1111'));
    expect(standin.requests.at(-1)?.fields.slice(-3, -1)).toEqual([
      ['phone', '0771111111'],
      ['method', 'ecocash'],
    ]);
    expect(success.instructions).not.toBe('');
    expect(success.paynowReference).toBe(standin.find('MOBILE-1').paynowReference);
    expect(await pollStates(usd, success.pollUrl)).toEqual(['pending', 'paid']);
    await expect.poll(() => lastCallback('MOBILE-1')).not.toBe(''); // Paynow also posts the change
    expect(usd.parseResult(lastCallback('MOBILE-1')).status).toBe('paid');

    const delayed = await zwg.initiateMobile(mobile('MOBILE-2', '0772222222', 'onemoney'));
    expect(await pollStates(zwg, delayed.pollUrl)).toEqual(['pending', 'pending', 'pending', 'paid']);
    const cancelled = await usd.initiateMobile(mobile('MOBILE-3', '0773333333'));
    expect(await pollStates(usd, cancelled.pollUrl)).toEqual(['pending', 'cancelled']);
    const broke = await failure(usd.initiateMobile(mobile('MOBILE-4', '0774444444')), 'rejected');
    expect(broke.paynowMessage).toBe('Insufficient balance');

    const waiting = await usd.initiateMobile(mobile('MOBILE-5', '0781234567'));
    expect(await pollStates(usd, waiting.pollUrl, 3)).toEqual(['pending', 'pending', 'pending']);
    await standin.settle('MOBILE-5', 'Failed');
    expect(await usd.poll(waiting.pollUrl)).toMatchObject({ status: 'failed', rawStatus: 'Failed' });
  });

  it('turns every transport and protocol failure into a PaynowError of its kind', async () => {
    standin.failNext('http500');
    expect((await failure(usd.initiate(order('FAIL-1')), 'http')).httpStatus).toBe(500);
    const impatient = new PaynowClient({ ...usdOptions(), timeoutMs: 300 });
    standin.failNext('hang');
    await failure(impatient.initiate(order('FAIL-2')), 'timeout');
    standin.failNext('badhash');
    await failure(usd.initiate(order('FAIL-3')), 'hash');
    standin.failNext('garbage');
    await failure(usd.initiateMobile(mobile('FAIL-4', '0771111111')), 'malformed');
    const { pollUrl } = await usd.initiate(order('FAIL-5'));
    standin.failNext('badhash');
    await failure(usd.poll(pollUrl), 'hash');
    standin.failNext('garbage');
    await failure(usd.poll(pollUrl), 'malformed');
    await failure(usd.poll(`${standin.baseUrl}/interface/returntransaction?guid=${randomUUID()}`), 'rejected');

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = new PaynowClient({ ...usdOptions(), baseUrl: `http://127.0.0.1:${port}` });
    await failure(nowhere.initiate(order('FAIL-6')), 'network');

    const unknown = new PaynowClient({ ...usdOptions(), integrationId: '9999' });
    expect((await failure(unknown.initiate(order('FAIL-7')), 'rejected')).paynowMessage).toBe('Invalid Id.');
    const wrongKey = new PaynowClient({ ...usdOptions(), integrationKey: ZWG_KEY });
    expect((await failure(wrongKey.initiate(order('FAIL-8')), 'rejected')).paynowMessage).toBe('Invalid hash');
  });

  it('refuses tampered, unsigned and foreign-signed callbacks, and the transaction stays as it was', async () => {
    const { pollUrl } = await usd.initiate(order('TAMPER-1'));
    for (const tamper of ['amount', 'status'] as const) {
      await standin.settle('TAMPER-1', 'Paid', { tamper });
      const body = lastCallback('TAMPER-1');
      expect(new URLSearchParams(body).get('status')).toBe('Paid');
      await thrown('hash', () => usd.parseResult(body));
    }
    const honest = [...new URLSearchParams(lastCallback('TAMPER-1'))];
    await thrown('hash', () => usd.parseResult(encodePaynowForm(honest.filter(([n]) => n !== 'hash'))));
    await thrown('hash', () => zwg.parseResult(lastCallback('TAMPER-1'))); // signed with the USD key
    await thrown('hash', () => usd.parseResult('status=Paid'));
    expect(await usd.poll(pollUrl)).toMatchObject({ status: 'pending', rawStatus: 'Created' });
  });

  it('polls only Paynow’s origin, whoever supplies the poll URL', async () => {
    const before = standin.requests.length;
    const guid = randomUUID();
    for (const elsewhere of [
      `https://evil.example/interface/returntransaction?guid=${guid}`,
      `${receiverUrl}/interface/returntransaction?guid=${guid}`,
      `${standin.baseUrl.replace('http://', 'http://user:pw@')}/interface/returntransaction?guid=${guid}`,
      'not a url',
    ]) {
      await failure(usd.poll(elsewhere), 'invalid');
    }
    expect(standin.requests.length).toBe(before);
    // A callback correctly signed but naming another poll URL is not a Paynow message Marina accepts.
    const fields = callbackFields({ pollurl: `${receiverUrl}/steal` });
    await standin.postCallback('1201', `${receiverUrl}/paynow/result`, fields);
    await thrown('malformed', () => usd.parseResult(lastCallback('ORIGIN-1')));
  });

  it('reads amounts exactly or not at all, and keeps an unknown status pending', async () => {
    const withAmount = (amount: string) => encodePaynowForm(signed(callbackFields({ amount })));
    expect(usd.parseResult(withAmount('19.9')).amountMinor).toBe(1990n);
    for (const amount of ['19.999', '1e3', '-1.00', '1,000.00', '19.99 USD', '']) {
      await thrown('malformed', () => usd.parseResult(withAmount(amount)));
    }
    const odd = usd.parseResult(encodePaynowForm(signed(callbackFields({ status: 'Partly Paid' }))));
    expect(odd).toMatchObject({ status: 'pending', rawStatus: 'Partly Paid' });
    const statuses = ['Created', 'Sent', 'Awaiting Delivery', 'Delivered', 'Paid', 'Cancelled', 'Failed', 'Disputed'];
    const states = ['pending', 'pending', 'paid', 'paid', 'paid', 'cancelled', 'failed', 'failed', 'failed'];
    expect([...statuses, 'Refunded'].map(normalizePaynowStatus)).toEqual(states);
  });

  it('refuses bad input before sending anything', async () => {
    const before = standin.requests.length;
    const cases: Array<() => Promise<unknown>> = [
      () => usd.initiate(order('x'.repeat(51))),
      () => usd.initiate(order('INV 1')),
      () => usd.initiate({ ...order('INV-1'), additionalInfo: 'a'.repeat(256) }),
      () => usd.initiate(order('INV-1', 0n)),
      () => usd.initiate(order('INV-1', -100n)),
      () => usd.initiate({ ...order('INV-1'), resultUrl: 'ftp://x.example/' }),
      () => usd.initiate({ ...order('INV-1'), authEmail: 'not an email' }),
      () => usd.initiateMobile(mobile('INV-1', '0112345678')),
      () => usd.initiateMobile(mobile('INV-1', '+27771111111')),
      () => usd.initiateMobile({ ...mobile('INV-1', '0771111111'), authEmail: '' }),
      () => usd.initiateMobile({ ...mobile('INV-1', '0771111111'), method: 'paypal' as 'ecocash' }),
    ];
    for (const attempt of cases) await failure(attempt(), 'invalid');
    expect(standin.requests.length).toBe(before);
    await expect(usd.initiate({ ...order('INV-1'), additionalInfo: 'a'.repeat(255) })).resolves.toBeDefined();
    expect(normalizeZimbabweMobile('263-78-123-4567')).toBe('0781234567');
    expect(() => new PaynowClient({ ...usdOptions(), currency: 'EUR' as 'USD' })).toThrow(PaynowError);
    expect(JSON.stringify(usd)).not.toContain(DOC_KEY);
  });
});

function usdOptions() {
  return { integrationId: '1201', integrationKey: DOC_KEY, currency: 'USD' as const, baseUrl: standin.baseUrl };
}

function callbackFields(overrides: Record<string, string>): [string, string][] {
  const values = {
    reference: 'ORIGIN-1',
    amount: '19.99',
    paynowreference: '4242',
    pollurl: `${standin.baseUrl}/interface/returntransaction?guid=${randomUUID()}`,
    status: 'Paid',
    ...overrides,
  };
  return Object.entries(values);
}

function signed(fields: [string, string][]): [string, string][] {
  return [...fields, ['hash', paynowHash(fields, DOC_KEY)]];
}
