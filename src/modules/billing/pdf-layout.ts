/**
 * The invoice PDF's page geometry, fonts and text hygiene (src/modules/billing/pdf.ts draws with them).
 * Sizes are PDF points (1/72 inch).
 */
import { existsSync } from 'node:fs';
import type PDFDocument from 'pdfkit';
import type { InvoiceDocument, Party } from './document.js';

/** ISO 216 A4. */
export const PAGE = { width: 595.28, height: 841.89 } as const;
export const MARGIN = 50;
export const CONTENT_WIDTH = PAGE.width - 2 * MARGIN;
/** Where the right-hand column of the header blocks starts. */
export const RIGHT_X = 330;
export const RIGHT_WIDTH = PAGE.width - MARGIN - RIGHT_X;

export const COLORS = {
  ink: '#1f2933',
  muted: '#5f6b7a',
  rule: '#d5dbe1',
  band: '#eef2f6',
  accent: '#1d4e89',
  paid: '#1e7b34',
  paidTint: '#eef7f0',
} as const;

export interface Column {
  title: string;
  x: number;
  width: number;
  align: 'left' | 'right';
}

/** Description takes what the fixed-width number columns leave. */
export function lineColumns(currency: string): Column[] {
  const fixed: [string, number][] = [
    ['Qty', 36],
    ['Unit price', 82],
    ['Tax', 52],
    [`Amount (${currency})`, 96],
  ];
  const descriptionWidth = CONTENT_WIDTH - fixed.reduce((sum, [, width]) => sum + width, 0);
  const columns: Column[] = [{ title: 'Description', x: MARGIN, width: descriptionWidth, align: 'left' }];
  let x = MARGIN + descriptionWidth;
  for (const [title, width] of fixed) {
    columns.push({ title, x, width, align: 'right' });
    x += width;
  }
  return columns;
}

export interface Fonts {
  regular: string;
  bold: string;
  /** false for the PDF standard fonts, which only know WinAnsi (see `clean`). */
  unicode: boolean;
}

const DEJAVU = {
  regular: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  bold: '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
};

/**
 * DejaVu Sans (Debian's fonts-dejavu-core) covers Latin, Greek and Cyrillic, so "Zoë Müller" and
 * "Ŝipo" print; without it the built-in Helvetica, which needs no file but only knows WinAnsi.
 */
export function chooseFonts(preference: 'auto' | 'standard'): Fonts {
  if (preference === 'auto' && existsSync(DEJAVU.regular) && existsSync(DEJAVU.bold)) {
    return { ...DEJAVU, unicode: true };
  }
  return { regular: 'Helvetica', bold: 'Helvetica-Bold', unicode: false };
}

/** The Unicode code points beyond Latin-1 that WinAnsi (cp1252) has a slot for. */
const WIN_ANSI_EXTRA = new Set([
  0x152, 0x153, 0x160, 0x161, 0x178, 0x17d, 0x17e, 0x192, 0x2c6, 0x2dc, 0x2013, 0x2014, 0x2018, 0x2019, 0x201a, 0x201c,
  0x201d, 0x201e, 0x2020, 0x2021, 0x2022, 0x2026, 0x2030, 0x2039, 0x203a, 0x20ac, 0x2122,
]);

function inWinAnsi(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return char === '\n' || (code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xff) || WIN_ANSI_EXTRA.has(code);
}

/**
 * Text as it may be printed. Buyer-entered text is data, and pdfkit draws strings literally (no
 * markup); what is left is what a page cannot show: control and format characters (bidi overrides
 * cannot reorder anything in a PDF, they would only print as boxes) become spaces or go, and a
 * runaway length is cut so one field cannot make wrapping slow. With the standard fonts, pdfkit
 * writes a character outside WinAnsi as a broken code instead of a glyph, so it becomes '?'.
 */
export function clean(text: string, fonts: Fonts, maxChars = 600): string {
  let chars = Array.from(
    text
      .replace(/\r\n?/g, '\n')
      .replace(/\p{Cf}/gu, '')
      .replace(/(?!\n)[\p{Cc}\p{Zl}\p{Zp}]/gu, ' '),
  );
  if (chars.length > maxChars) chars = [...chars.slice(0, maxChars - 1), '…'];
  if (!fonts.unicode) chars = chars.map((char) => (inWinAnsi(char) ? char : '?'));
  return chars.join('');
}

/** YYYY-MM-DD in UTC: the same day wherever the PDF is rendered. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

const regions = new Intl.DisplayNames(['en'], { type: 'region', fallback: 'code' });

/** "Zimbabwe" for ZW; the code itself for anything ICU does not know. */
export function countryName(code: string): string {
  try {
    return regions.of(code.trim().toUpperCase()) ?? code;
  } catch {
    return code;
  }
}

/** The lines under a party's name, in the order an envelope has them. */
export function partyDetails(party: Party): string[] {
  const lines = party.addressLines.filter((line) => line.trim() !== '').slice(0, 6);
  if (party.country.trim() !== '') lines.push(countryName(party.country));
  if (party.taxId) lines.push(`Tax ID: ${party.taxId}`);
  if (party.email) lines.push(party.email);
  return lines;
}

export interface Style {
  size: number;
  bold?: boolean;
  color?: string;
  align?: 'left' | 'right';
  /** Longer text ends in an ellipsis: no field can push the layout off the page. */
  maxLines?: number;
  characterSpacing?: number;
  /** A number too wide for its column shrinks (down to 5 pt) instead of being cut or broken at a comma. */
  fit?: boolean;
}

export const STYLES = {
  // One line per address line: a long line ends in an ellipsis rather than pushing the table down.
  small: { size: 8.5, color: COLORS.muted, maxLines: 1 },
  caption: { size: 7.5, bold: true, color: COLORS.muted, maxLines: 1, characterSpacing: 0.6 },
  footer: { size: 7.5, color: COLORS.muted, maxLines: 5 },
} satisfies Record<string, Style>;

export function documentTitle(kind: InvoiceDocument['kind']): string {
  return kind === 'invoice' ? 'Invoice' : 'Credit note';
}

/** Text and lines on a pdfkit document, every call with its full style: nothing leaks between calls. */
export class Pen {
  constructor(
    protected readonly pdf: InstanceType<typeof PDFDocument>,
    protected readonly fonts: Fonts,
  ) {}

  protected apply(style: Style) {
    const lineGap = style.size * 0.3;
    this.pdf
      .font(style.bold ? this.fonts.bold : this.fonts.regular)
      .fontSize(style.size)
      .fillColor(style.color ?? COLORS.ink);
    const maxHeight = (style.maxLines ?? 4) * (this.pdf.currentLineHeight(true) + lineGap);
    return {
      maxHeight,
      options: {
        align: style.align ?? 'left',
        lineGap,
        characterSpacing: style.characterSpacing ?? 0,
        height: maxHeight,
        ellipsis: true,
      },
    };
  }

  private fitted(text: string, width: number, style: Style): Style {
    if (!style.fit) return style;
    this.apply(style);
    const natural = this.pdf.widthOfString(clean(text, this.fonts), { characterSpacing: style.characterSpacing ?? 0 });
    if (natural <= width) return style;
    return { ...style, size: Math.max(5, (style.size * width) / natural - 0.05), maxLines: 3 };
  }

  protected measure(text: string, width: number, style: Style): number {
    const { maxHeight, options } = this.apply(this.fitted(text, width, style));
    return Math.min(this.pdf.heightOfString(clean(text, this.fonts), { ...options, width }), maxHeight);
  }

  /** Draws text at (x, y) and says how tall it came out. */
  protected text(text: string, x: number, y: number, width: number, style: Style): number {
    const height = this.measure(text, width, style);
    const { options } = this.apply(this.fitted(text, width, style));
    this.pdf.text(clean(text, this.fonts), x, y, { ...options, width });
    return height;
  }

  /** A horizontal line, across the content width unless told. */
  protected rule(y: number, color: string = COLORS.rule, width = 0.6, from = MARGIN, to = PAGE.width - MARGIN): void {
    this.pdf.moveTo(from, y).lineTo(to, y).lineWidth(width).strokeColor(color).stroke();
  }
}
