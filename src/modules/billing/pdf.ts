/**
 * An invoice or credit note as an A4 PDF (pdfkit). The same document always renders the same
 * bytes: the creation date is the issue date and pdfkit derives the file ID from the metadata.
 */
import { lazyImport } from '../../platform/lazy.js';
import type { InvoiceDocument } from './document.js';
import { formatMoney, formatRate } from './money.js';
import {
  COLORS,
  CONTENT_WIDTH,
  type Column,
  chooseFonts,
  clean,
  documentTitle,
  type Fonts,
  isoDate,
  lineColumns,
  MARGIN,
  PAGE,
  Pen,
  partyDetails,
  RIGHT_WIDTH,
  RIGHT_X,
  STYLES,
  type Style,
} from './pdf-layout.js';

export interface RenderOptions {
  /** 'standard' uses the built-in Helvetica even where DejaVu Sans is installed. */
  fonts?: 'auto' | 'standard';
}

/** pdfkit (with fontkit and its tables) is loaded when the first PDF is asked for. */
const loadPdfKit = lazyImport(() => import('pdfkit'));

export async function renderInvoicePdf(doc: InvoiceDocument, options: RenderOptions = {}): Promise<Buffer> {
  const fonts = chooseFonts(options.fonts ?? 'auto');
  const { default: PDFDocument } = await loadPdfKit();
  const pdf = new PDFDocument({
    size: 'A4',
    // Every position is explicit: with no margins pdfkit never starts a page on its own.
    margin: 0,
    bufferPages: true,
    displayTitle: true,
    lang: 'en',
    font: fonts.regular,
    info: {
      Title: doc.number,
      Author: doc.seller.name,
      Subject: `${documentTitle(doc.kind)} ${doc.number}`,
      Creator: 'Marina',
      CreationDate: doc.issuedAt,
    },
  });
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    pdf.on('data', (chunk: Buffer) => chunks.push(chunk));
    pdf.on('end', () => resolve(Buffer.concat(chunks)));
    pdf.on('error', reject);
  });
  new InvoiceWriter(pdf, fonts, doc).write();
  pdf.end();
  return done;
}

const CELL_PAD = 6;
const ROW_PAD = 5;
const HEADER_ROW = 22;
const { small, caption, footer: footerStyle } = STYLES;

class InvoiceWriter extends Pen {
  private y = MARGIN;
  private readonly columns: Column[];
  private readonly footerTop: number;
  private readonly bottom: number;

  constructor(
    pdf: PDFKit.PDFDocument,
    fonts: Fonts,
    private readonly doc: InvoiceDocument,
  ) {
    super(pdf, fonts);
    this.columns = lineColumns(clean(doc.currency, fonts, 8));
    const footerHeight = Math.max(this.measure(doc.footer, CONTENT_WIDTH - 140, footerStyle), 10);
    this.footerTop = PAGE.height - 36 - footerHeight;
    this.bottom = this.footerTop - 18;
  }

  write(): void {
    this.header();
    this.parties();
    if (this.y + HEADER_ROW + 40 > this.bottom) this.continuationPage();
    this.tableHeader();
    this.lines();
    this.summary();
    const range = this.pdf.bufferedPageRange();
    for (let page = 0; page < range.count; page++) {
      this.pdf.switchToPage(range.start + page);
      this.footer(page + 1, range.count);
    }
  }

  private money(amountMinor: bigint): string {
    return formatMoney(amountMinor, this.doc.currency);
  }

  /** formatMoney's grouping without the code in every cell: the column header names it once. */
  private amount(amountMinor: bigint): string {
    return this.money(amountMinor).replace(`${this.doc.currency} `, '');
  }

  private header(): void {
    const { doc } = this;
    let left = MARGIN;
    left += this.text(doc.seller.name, MARGIN, left, 260, { size: 14, bold: true, maxLines: 2 }) + 3;
    for (const line of partyDetails(doc.seller)) left += this.text(line, MARGIN, left, 260, small);
    let right = MARGIN - 6;
    const titleStyle: Style = { size: 24, bold: true, color: COLORS.accent, align: 'right', maxLines: 1 };
    right += this.text(documentTitle(this.doc.kind), RIGHT_X, right, RIGHT_WIDTH, titleStyle);
    right += this.text(doc.number, RIGHT_X, right + 2, RIGHT_WIDTH, { size: 11, bold: true, align: 'right' }) + 2;
    if (doc.credits) {
      const credits = `Credits invoice ${doc.credits}`;
      right += this.text(credits, RIGHT_X, right + 2, RIGHT_WIDTH, { ...small, align: 'right' }) + 2;
    }
    this.y = Math.max(left, right) + 18;
    this.rule(this.y, COLORS.accent, 1.2);
    this.y += 18;
  }

  private parties(): void {
    const { doc } = this;
    const top = this.y;
    let left = top;
    left += this.text('BILL TO', MARGIN, left, 260, caption) + 4;
    left += this.text(doc.buyer.name, MARGIN, left, 260, { size: 11, bold: true, maxLines: 2 }) + 2;
    for (const line of partyDetails(doc.buyer)) left += this.text(line, MARGIN, left, 260, small);

    const rows: [string, string][] = [['Issue date', isoDate(doc.issuedAt)]];
    if (doc.dueAt) rows.push(['Due date', isoDate(doc.dueAt)]);
    const start = doc.periodStart ? isoDate(doc.periodStart) : null;
    const end = doc.periodEnd ? isoDate(doc.periodEnd) : null;
    if (start || end)
      rows.push(['Service period', start && end ? `${start} – ${end}` : start ? `from ${start}` : `until ${end}`]);
    let right = top;
    const labelWidth = 80;
    for (const [label, value] of rows) {
      const valueStyle: Style = { size: 8.5, align: 'right', maxLines: 1 };
      this.text(label, RIGHT_X, right, labelWidth, { ...small, maxLines: 1 });
      right += this.text(value, RIGHT_X + labelWidth, right, RIGHT_WIDTH - labelWidth, valueStyle) + 3;
    }

    const boxTop = right + 8;
    const boxLabel = doc.kind === 'credit_note' ? 'CREDIT TOTAL' : doc.paid ? 'AMOUNT PAID' : 'AMOUNT DUE';
    this.pdf.rect(RIGHT_X, boxTop, RIGHT_WIDTH, 46).fill(COLORS.band);
    this.pdf.rect(RIGHT_X, boxTop, 3, 46).fill(COLORS.accent);
    this.text(boxLabel, RIGHT_X + 14, boxTop + 9, RIGHT_WIDTH - 24, caption);
    this.text(this.money(doc.totalMinor), RIGHT_X + 14, boxTop + 21, RIGHT_WIDTH - 24, {
      size: 14,
      bold: true,
      maxLines: 1,
      fit: true,
    });
    this.y = Math.max(left, boxTop + 46) + 26;
  }

  private tableHeader(): void {
    this.pdf.rect(MARGIN, this.y, CONTENT_WIDTH, HEADER_ROW).fill(COLORS.band);
    for (const column of this.columns) {
      const style: Style = { ...caption, align: column.align };
      this.text(column.title.toUpperCase(), column.x + CELL_PAD, this.y + 7.5, column.width - 2 * CELL_PAD, style);
    }
    this.y += HEADER_ROW;
  }

  private lines(): void {
    for (const line of this.doc.lines) {
      const cells = [
        line.description,
        String(line.quantity),
        this.amount(line.unitMinor),
        formatRate(line.taxRateBasisPoints),
        this.amount(line.netMinor),
      ];
      const styles = this.columns.map(
        (column, index): Style => ({ size: 9, align: column.align, maxLines: 8, fit: index > 0 }),
      );
      const heights = cells.map((cell, index) => {
        const column = this.columns[index] as Column;
        return this.measure(cell, column.width - 2 * CELL_PAD, styles[index] as Style);
      });
      const height = Math.max(...heights) + 2 * ROW_PAD;
      if (this.y + height > this.bottom) {
        this.continuationPage();
        this.tableHeader();
      }
      cells.forEach((cell, index) => {
        const column = this.columns[index] as Column;
        const width = column.width - 2 * CELL_PAD;
        this.text(cell, column.x + CELL_PAD, this.y + ROW_PAD + 1, width, styles[index] as Style);
      });
      this.y += height;
      this.rule(this.y);
    }
  }

  private continuationPage(): void {
    this.pdf.addPage();
    this.y = MARGIN;
    const style: Style = { size: 9, bold: true, color: COLORS.muted, maxLines: 1 };
    this.text(`${documentTitle(this.doc.kind)} ${this.doc.number} (continued)`, MARGIN, this.y, 260, style);
    this.text(this.doc.seller.name, RIGHT_X, this.y, RIGHT_WIDTH, { ...style, bold: false, align: 'right' });
    this.y += 26;
  }

  private summary(): void {
    const { doc } = this;
    const taxHeight = doc.taxes.length > 0 ? HEADER_ROW + doc.taxes.length * 18 : 0;
    // The totals below: two rows, the rule, the total, and a stamp of up to two lines.
    const totalsHeight = 74 + (doc.paid ? 58 : 0);
    if (this.y + 20 + Math.max(taxHeight, totalsHeight) > this.bottom) this.continuationPage();
    const top = this.y + 20;

    if (doc.taxes.length > 0) {
      const x = MARGIN;
      const widths = [92, 80, 80];
      const titles = ['Tax', `Net (${doc.currency})`, `Tax (${doc.currency})`];
      const aligns = ['left', 'right', 'right'] as const;
      const tableWidth = widths.reduce((sum, width) => sum + width, 0);
      this.pdf.rect(x, top, tableWidth, HEADER_ROW).fill(COLORS.band);
      const row = (cells: string[], y: number, style: Style) => {
        let cx = x;
        cells.forEach((cell, index) => {
          const width = widths[index] ?? 80;
          this.text(cell, cx + CELL_PAD, y, width - 2 * CELL_PAD, { ...style, align: aligns[index] ?? 'left' });
          cx += width;
        });
      };
      row(
        titles.map((title) => title.toUpperCase()),
        top + 7.5,
        caption,
      );
      let y = top + HEADER_ROW;
      for (const tax of doc.taxes) {
        row([tax.label, this.amount(tax.netMinor), this.amount(tax.taxMinor)], y + 5, {
          size: 8.5,
          maxLines: 1,
          fit: true,
        });
        y += 18;
        this.rule(y, COLORS.rule, 0.6, x, x + tableWidth);
      }
    }

    const valueX = RIGHT_X + 90;
    const valueWidth = RIGHT_WIDTH - 90 - CELL_PAD;
    let y = top + 4;
    for (const [label, value] of [
      ['Subtotal', doc.subtotalMinor],
      ['Tax', doc.taxMinor],
    ] as const) {
      this.text(label, RIGHT_X + CELL_PAD, y, 84, { size: 9, color: COLORS.muted, maxLines: 1 });
      this.text(this.money(value), valueX, y, valueWidth, { size: 9, align: 'right', maxLines: 1, fit: true });
      y += 18;
    }
    this.rule(y, COLORS.ink, 0.8, RIGHT_X);
    y += 9;
    this.text('Total', RIGHT_X + CELL_PAD, y, 84, { size: 11.5, bold: true, maxLines: 1 });
    this.text(this.money(doc.totalMinor), valueX - 30, y, valueWidth + 30, {
      size: 11.5,
      bold: true,
      align: 'right',
      maxLines: 1,
      fit: true,
    });
    y += 25;
    if (doc.paid) this.paidStamp(y + 12, doc.paid);
  }

  /** Right-aligned under the totals, as wide as its text, wrapping a long provider name. */
  private paidStamp(top: number, paid: { at: Date; via: string }): void {
    const style: Style = { size: 9.5, bold: true, color: COLORS.paid, maxLines: 2, characterSpacing: 0.3 };
    const text = clean(`PAID on ${isoDate(paid.at)} via ${paid.via}`, this.fonts, 120);
    this.apply(style);
    const width = Math.min(this.pdf.widthOfString(text, { characterSpacing: 0.3 }) + 32, 300);
    const x = PAGE.width - MARGIN - width;
    const height = this.measure(text, width - 24, style) + 16;
    this.pdf.roundedRect(x, top, width, height, 4).lineWidth(1.5).fillAndStroke(COLORS.paidTint, COLORS.paid);
    this.text(text, x + 14, top + 8.5, width - 24, style);
  }

  private footer(page: number, pages: number): void {
    this.rule(this.footerTop);
    const top = this.footerTop + 9;
    this.text(this.doc.footer, MARGIN, top, CONTENT_WIDTH - 140, footerStyle);
    const label = `${this.doc.number} · Page ${page} of ${pages}`;
    this.text(label, PAGE.width - MARGIN - 130, top, 130, { ...footerStyle, align: 'right', maxLines: 1 });
  }
}
