import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DocumentLine, InvoiceDocument, Party, TaxSummaryLine } from '../src/modules/billing/document.js';
import { formatMoney, formatRate, taxOf } from '../src/modules/billing/money.js';
import { renderInvoicePdf } from '../src/modules/billing/pdf.js';

// The invoice PDF read back by poppler (scripts/install-test-deps.sh installs poppler-utils): its
// text, its metadata, and page 1 as pixels.
const run = promisify(execFile);
const UNICODE_FONTS = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].every((file) =>
  existsSync(`/usr/share/fonts/truetype/dejavu/${file}`),
);
const SCREENS = '/work/screens';

let dir = '';
let files = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'marina-invoice-pdf-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const day = (iso: string) => new Date(`${iso}T00:00:00Z`);

const seller: Party = {
  name: 'Marina Cloud (Pvt) Ltd',
  addressLines: ['14 Samora Machel Avenue', 'Harare'],
  country: 'ZW',
  taxId: '10023456',
  email: 'billing@marina.example',
};
const buyer: Party = {
  name: 'Zoë Müller — Ŝipo Trading',
  addressLines: ['Bahnhofstrasse 12', '8001 Zürich'],
  country: 'CH',
  taxId: 'CHE-123.456.789 MWST',
  email: 'accounts@sipo.example',
};

function line(description: string, quantity: number, unitMinor: bigint, taxRateBasisPoints = 1500): DocumentLine {
  const netMinor = unitMinor * BigInt(quantity);
  return {
    description,
    quantity,
    unitMinor,
    netMinor,
    taxRateBasisPoints,
    taxMinor: taxOf(netMinor, taxRateBasisPoints),
  };
}

/** A consistent document: the tax summary and totals are summed from the lines. */
function document(overrides: Partial<InvoiceDocument> & { lines: DocumentLine[] }): InvoiceDocument {
  const taxes = new Map<number, TaxSummaryLine>();
  for (const { taxRateBasisPoints: rate, netMinor, taxMinor } of overrides.lines) {
    const sum = taxes.get(rate) ?? {
      label: `VAT ${formatRate(rate)}`,
      rateBasisPoints: rate,
      netMinor: 0n,
      taxMinor: 0n,
    };
    taxes.set(rate, { ...sum, netMinor: sum.netMinor + netMinor, taxMinor: sum.taxMinor + taxMinor });
  }
  const subtotalMinor = overrides.lines.reduce((sum, l) => sum + l.netMinor, 0n);
  const taxMinor = overrides.lines.reduce((sum, l) => sum + l.taxMinor, 0n);
  return {
    kind: 'invoice',
    number: 'INV-2027-000123',
    credits: null,
    issuedAt: new Date('2027-01-01T09:30:00Z'),
    dueAt: day('2027-01-15'),
    periodStart: day('2027-01-01'),
    periodEnd: day('2027-01-31'),
    currency: 'USD',
    seller,
    buyer,
    taxes: [...taxes.values()],
    subtotalMinor,
    taxMinor,
    totalMinor: subtotalMinor + taxMinor,
    paid: null,
    footer:
      'Payment due within 14 days. Bank transfer: CBZ Bank, Harare, account 01234567890, branch 6101, ' +
      'reference INV-2027-000123. Questions about this invoice: billing@marina.example.',
    ...overrides,
  };
}

const invoice = document({
  lines: [
    line('Odoo hosting — Business plan (monthly), instance acme-prod, 2027-01-01 to 2027-01-31', 1, 4900n),
    line('Extra backup storage, 10 GB blocks', 3, 250n),
  ],
  paid: { at: new Date('2027-01-04T13:05:00Z'), via: 'Paynow (EcoCash)' },
});
const creditNote = document({
  kind: 'credit_note',
  number: 'CN-2027-000004',
  credits: 'INV-2027-000123',
  issuedAt: new Date('2027-01-20T08:00:00Z'),
  dueAt: null,
  periodStart: day('2027-01-20'),
  periodEnd: day('2027-01-31'),
  buyer: { ...buyer, name: 'Ann’s <b>Shop</b> \\ (EOF) Tj' },
  lines: [line('Pro-rated credit: Business plan, 2027-01-20 to 2027-01-31', 1, 1739n)],
  footer: 'The credited amount is refunded to the original payment method.',
});
const long = document({
  number: 'INV-2027-000124',
  lines: Array.from({ length: 60 }, (_, i) =>
    line(
      i % 7 === 3
        ? `Instance worker-${i + 1}: dedicated compute, 4 vCPU and 8 GB memory, including daily backups kept 30 days and a staging copy`
        : `Instance worker-${i + 1}: hosting, monthly`,
      1 + (i % 3),
      1990n + BigInt(i) * 100n,
    ),
  ),
});

async function save(pdf: Buffer): Promise<string> {
  const file = join(dir, `doc-${++files}.pdf`);
  await writeFile(file, pdf);
  return file;
}

/** The text with every run of whitespace as one space, so a wrapped cell still reads as one string. */
async function pdfText(file: string, page?: number): Promise<string> {
  const range = page === undefined ? [] : ['-f', String(page), '-l', String(page)];
  const { stdout } = await run('pdftotext', ['-enc', 'UTF-8', ...range, file, '-']);
  return stdout.replace(/\s+/g, ' ');
}

async function pdfInfo(file: string): Promise<Record<string, string>> {
  const { stdout } = await run('pdfinfo', ['-isodates', file], { env: { ...process.env, TZ: 'UTC' } });
  return Object.fromEntries(
    stdout
      .split('\n')
      .map((row) => /^([^:]+):\s*(.*)$/.exec(row))
      .filter((match) => match !== null)
      .map((match) => [match[1] as string, (match[2] as string).trim()]),
  );
}

/** Page 1 as an 8-bit grey PGM (P5), which is a header and the raw pixels: no decoder needed. */
async function greyPage(file: string, dpi: number): Promise<{ width: number; height: number; pixels: Buffer }> {
  const prefix = join(dir, `grey-${++files}`);
  await run('pdftoppm', ['-gray', '-r', String(dpi), '-f', '1', '-l', '1', '-singlefile', file, prefix]);
  const data = await readFile(`${prefix}.pgm`);
  const header = /^P5\s+(\d+)\s+(\d+)\s+255\s/.exec(data.subarray(0, 50).toString('latin1'));
  if (!header) throw new Error('pdftoppm wrote no 8-bit PGM');
  const [width, height] = [Number(header[1]), Number(header[2])];
  return { width, height, pixels: data.subarray(header[0].length, header[0].length + width * height) };
}

const inkShare = (pixels: Buffer) => pixels.filter((value) => value < 200).length / pixels.length;

describe('invoice PDF', () => {
  it('shows an invoice: parties, dates, each line, taxes, totals and the paid stamp', async () => {
    const pdf = await renderInvoicePdf(invoice);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const file = await save(pdf);
    const text = await pdfText(file);
    for (const expected of [
      'Invoice',
      'INV-2027-000123',
      'Marina Cloud (Pvt) Ltd',
      'BILL TO',
      UNICODE_FONTS ? 'Zoë Müller — Ŝipo Trading' : 'Zoë Müller — ?ipo Trading',
      'Switzerland',
      'Tax ID: CHE-123.456.789 MWST',
      ...invoice.lines.map((l) => l.description),
      '2027-01-01',
      '2027-01-15',
      '2027-01-01 – 2027-01-31',
      'VAT 15 %',
      formatMoney(invoice.subtotalMinor, 'USD'),
      formatMoney(invoice.taxMinor, 'USD'),
      formatMoney(invoice.totalMinor, 'USD'),
      'USD 64.98',
      'PAID on 2027-01-04 via Paynow (EcoCash)',
      'Bank transfer: CBZ Bank',
      'Page 1 of 1',
    ]) {
      expect(text, expected).toContain(expected);
    }

    const info = await pdfInfo(file);
    expect(info.Title).toBe('INV-2027-000123');
    expect(info.Author).toBe('Marina Cloud (Pvt) Ltd');
    expect(info.CreationDate).toMatch(/^2027-01-01T09:30:00(Z|\+00)/);
    expect(info['Page size']).toMatch(/^595\.2\d? x 841\.8\d? pts \(A4\)/);
    expect(info.Pages).toBe('1');
  });

  it('renders the same document to the same bytes', async () => {
    const [first, second] = await Promise.all([renderInvoicePdf(invoice), renderInvoicePdf(invoice)]);
    expect(first.equals(second)).toBe(true);
    expect((await renderInvoicePdf(creditNote)).equals(first)).toBe(false);
  });

  it('turns page 1 into a non-blank A4 PNG', async () => {
    const file = await save(await renderInvoicePdf(invoice));
    const prefix = join(dir, 'invoice-page');
    await run('pdftoppm', ['-png', '-r', '50', '-f', '1', '-l', '1', '-singlefile', file, prefix]);
    const png = await readFile(`${prefix}.png`);
    expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
    // A4 at 50 dpi: 595.28 × 841.89 pt / 72 × 50 ≈ 413 × 585 px (IHDR holds width and height).
    expect(Math.abs(png.readUInt32BE(16) - 413)).toBeLessThanOrEqual(2);
    expect(Math.abs(png.readUInt32BE(20) - 585)).toBeLessThanOrEqual(2);
    if (!process.env.CI && existsSync(SCREENS)) await copyFile(`${prefix}.png`, join(SCREENS, 'invoice-pdf.png'));

    const page = await greyPage(file, 20);
    expect(page.width * page.height).toBe(page.pixels.length);
    const share = inkShare(page.pixels);
    expect(share).toBeGreaterThan(0.01);
    expect(share).toBeLessThan(0.35);
    // Ink in the header band and in the footer band: the page is laid out top to bottom.
    const rows = (from: number, to: number) =>
      page.pixels.subarray(Math.floor(page.height * from) * page.width, Math.floor(page.height * to) * page.width);
    expect(inkShare(rows(0, 0.15))).toBeGreaterThan(0.01);
    expect(inkShare(rows(0.9, 1))).toBeGreaterThan(0.002);
  });

  it('shows a credit note with the invoice it credits, printing buyer text literally', async () => {
    const file = await save(await renderInvoicePdf(creditNote));
    const text = await pdfText(file);
    for (const expected of [
      'Credit note',
      'CN-2027-000004',
      'Credits invoice INV-2027-000123',
      'Ann’s <b>Shop</b> \\ (EOF) Tj',
      creditNote.lines[0]?.description ?? '',
      formatMoney(creditNote.totalMinor, 'USD'),
      '2027-01-20 – 2027-01-31',
    ]) {
      expect(text, expected).toContain(expected);
    }
    expect(text).not.toContain('PAID');
    expect(text).not.toContain('Due date');
  });

  it('continues a long table on further pages, repeating its header', async () => {
    const file = await save(await renderInvoicePdf(long));
    const pages = Number((await pdfInfo(file)).Pages);
    expect(pages).toBeGreaterThanOrEqual(2);
    const text = await pdfText(file);
    for (const l of [long.lines[0], long.lines[3], long.lines[59]]) expect(text).toContain(l?.description);
    expect(text).toContain(formatMoney(long.totalMinor, 'USD'));
    expect(text).toContain(`Page ${pages} of ${pages}`);
    const second = await pdfText(file, 2);
    expect(second).toContain('Invoice INV-2027-000124 (continued)');
    expect(second).toContain('UNIT PRICE');
    expect(second).toContain('AMOUNT (USD)');
  });

  it('falls back to the built-in Helvetica, printing "?" for what WinAnsi lacks', async () => {
    const text = await pdfText(await save(await renderInvoicePdf(invoice, { fonts: 'standard' })));
    expect(text).toContain('Zoë Müller — ?ipo Trading');
    expect(text).toContain(formatMoney(invoice.totalMinor, 'USD'));
  });
});
