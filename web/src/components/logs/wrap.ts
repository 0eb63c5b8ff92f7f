import { entryLines, entryTime, formatClock, formatMs, type LogEntry } from './model';

/**
 * Wrapped log lines on narrow screens. The list is virtualized on a grid of equal lines, so the
 * number of lines an entry takes must be known without measuring it: the text is monospace and
 * breaks anywhere (`word-break: break-all`), so a line of n characters in a box of c columns takes
 * ⌈n / c⌉ lines. The counts below mirror what LogRow writes (one space after each column).
 */

/** Below this width of the log's box, lines wrap instead of scrolling sideways (a phone). */
export const WRAP_BELOW_PX = 640;
/** The row's padding, left and right (`.log-row`). */
const ROW_PADDING_PX = 28;
/** The indent of fold and continuation lines when wrapped, in characters (`.log-wrapped .log-fold`). */
const INDENT_COLUMNS = 2;

/** The width of one character of the log's font, measured in the log's box. */
export function characterWidth(viewport: HTMLElement): number {
  const probe = document.createElement('span');
  probe.textContent = '0'.repeat(100);
  probe.style.cssText = 'position:absolute;visibility:hidden;white-space:pre;';
  viewport.appendChild(probe);
  const width = probe.getBoundingClientRect().width / 100;
  probe.remove();
  return width > 0 ? width : 7.5;
}

/** How many characters fit on a line of the log's box, or null when the box is wide enough not to wrap. */
export function wrapColumns(viewport: HTMLElement): number | null {
  const width = viewport.clientWidth;
  if (width === 0 || width >= WRAP_BELOW_PX) return null;
  // One column of margin: rounding must never make a line overflow onto a line not counted.
  return Math.max(12, Math.floor((width - ROW_PADDING_PX) / characterWidth(viewport)) - 1);
}

function messageLength(entry: LogEntry): number {
  const http = entry.http;
  if (!http) return entry.message.length;
  let text = `${http.method || '—'} ${http.path} ${http.status}`;
  if (http.totalTimeMs !== null) text += ` ${formatMs(http.totalTimeMs)}`;
  if (http.queryCount !== null) text += ` · ${http.queryCount} ${http.queryCount === 1 ? 'query' : 'queries'}`;
  return text.length;
}

const linesOf = (characters: number, columns: number): number => Math.max(1, Math.ceil(characters / columns));

/** The display lines of one entry: wrapped to `columns`, or one per line when null (nothing wraps). */
export function wrappedLines(entry: LogEntry, expanded: boolean, databases: boolean, columns: number | null): number {
  if (columns === null) return entry.continuation.length === 0 ? 1 : entryLines(entry, expanded);
  const time = entryTime(entry);
  const before = [time === null ? '' : formatClock(time), entry.level ?? ''];
  if (databases) before.push(entry.database ?? '');
  before.push(entry.logger ?? '');
  const main = before.reduce((sum, column) => sum + column.length + 1, 0) + messageLength(entry);
  let lines = linesOf(main, columns);
  if (entry.continuation.length > 0) {
    lines += 1;
    if (expanded) for (const line of entry.continuation) lines += linesOf(line.length, columns - INDENT_COLUMNS);
  }
  return lines;
}
