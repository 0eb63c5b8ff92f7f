import { useWindowVirtualizer } from '@tanstack/react-virtual';
import {
  Fragment,
  type ReactNode,
  useCallback,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';

/** What the first <tr> of a virtual row carries, so the virtualizer learns its height. */
export interface VirtualRowMeasure {
  'data-index': number;
  ref(node: HTMLTableRowElement | null): void;
}

interface VirtualTableBodyProps<Row> {
  rows: readonly Row[];
  /** How many rows the list has; those past `rows` are not loaded yet and show as placeholders. */
  count?: number;
  /**
   * Told how many rows the rows in the page (in view or about to be) need, once a placeholder is
   * among them, and 0 once none is.
   */
  onRowsNeeded?(count: number): void;
  rowKey(row: Row): string;
  /** How many columns a spacer row spans. */
  columnCount: number;
  /** One row's <tr> (and the details row under it, if open), the first with `measure`'s attributes. */
  renderRow(row: Row, measure: VirtualRowMeasure): ReactNode;
  /** A row's height before it is measured (px), in the wide table (default: one line of text); phones' cards are taller. */
  rowHeight?: number;
  /** Rows kept in the page above and below the ones in view. */
  overscan?: number;
}

/** Below this width, tables are cards (phone-tables.css): a row is a card of one line per column. */
const PHONE = '(max-width: 600px)';
const CARD_LINE = 30;
const CARD_PADDING = 21;

function subscribePhone(changed: () => void): () => void {
  const query = window.matchMedia(PHONE);
  query.addEventListener('change', changed);
  return () => query.removeEventListener('change', changed);
}

const isPhone = () => window.matchMedia(PHONE).matches;

/** A row's height, with its details row when it has one open (which always follows it). */
function rowHeightOf(node: Element): number {
  const details = node.nextElementSibling;
  const height = node.getBoundingClientRect().height;
  return details?.classList.contains('details-row') ? height + details.getBoundingClientRect().height : height;
}

/** Where the list starts in the page (px from the top of the document). */
function documentTop(node: Element): number {
  return node.getBoundingClientRect().top + window.scrollY;
}

/** The rows above and below those in the page: one empty row of their height keeps the scroll bar true. */
function Spacer({ height, columnCount }: { height: number; columnCount: number }) {
  if (height <= 0) return null;
  return (
    <tr className="virtual-spacer">
      <td colSpan={columnCount} style={{ height }} aria-hidden="true" />
    </tr>
  );
}

/** A row not loaded yet, as tall as a row is guessed to be: loading it moves nothing below it. */
export function PlaceholderRow({
  columnCount,
  height,
  measure,
}: {
  columnCount: number;
  height?: number;
  measure?: VirtualRowMeasure;
}) {
  return (
    <tr className="row-placeholder" style={height ? { height } : undefined} {...measure}>
      <td colSpan={columnCount} aria-hidden="true">
        <span className="placeholder-bar" />
      </td>
    </tr>
  );
}

/**
 * A table's body with only the rows in view (and `overscan` more each side) in the page; the window
 * scrolls, as it does every page. Rows are measured once shown, so they may differ in height.
 */
export function VirtualTableBody<Row>({
  rows,
  count = rows.length,
  onRowsNeeded,
  rowKey,
  columnCount,
  renderRow,
  rowHeight = 47,
  overscan = 8,
}: VirtualTableBodyProps<Row>) {
  const body = useRef<HTMLTableSectionElement>(null);
  // The virtualizer counts offsets from the top of the document: the rows start below the page's header.
  const [scrollMargin, setScrollMargin] = useState(0);
  const measureMargin = useCallback(() => {
    if (!body.current) return;
    const top = documentTop(body.current);
    setScrollMargin((current) => (Math.abs(current - top) < 0.5 ? current : top));
  }, []);
  const phone = useSyncExternalStore(subscribePhone, isPhone);
  // Rows are known by their keys, so sizes follow them when the list changes; a new key function
  // makes the virtualizer lay every row out again, so it changes only with the rows.
  const keyOf = useRef(rowKey);
  keyOf.current = rowKey;
  const getItemKey = useCallback(
    (index: number) => {
      const row = rows[index];
      return row === undefined ? index : keyOf.current(row);
    },
    [rows],
  );
  const estimate = phone ? CARD_LINE * columnCount + CARD_PADDING : rowHeight;
  const virtualizer = useWindowVirtualizer({
    count: Math.max(count, rows.length),
    estimateSize: () => estimate,
    overscan,
    scrollMargin,
    getItemKey,
    measureElement: rowHeightOf,
  });

  // Anything above the table may move it: a banner, an alert, a narrower window.
  useLayoutEffect(measureMargin);
  // A details row opened or closed changes its row's height, which no observer of the row itself sees.
  useLayoutEffect(() => {
    for (const node of body.current?.querySelectorAll<HTMLTableRowElement>(':scope > tr[data-index]') ?? []) {
      virtualizer.measureElement(node);
    }
  });
  useEffect(() => {
    const observer = new ResizeObserver(measureMargin);
    observer.observe(document.body);
    return () => observer.disconnect();
  }, [measureMargin]);

  const items = virtualizer.getVirtualItems();
  const first = items[0];
  const last = items.at(-1);
  // Rows past those loaded come into the page: whoever loads them is told how far they go (and
  // not at every scroll while the rows in the page are all there).
  const needed = last !== undefined && last.index >= rows.length ? last.index + 1 : 0;
  const told = useRef(onRowsNeeded);
  told.current = onRowsNeeded;
  useEffect(() => told.current?.(needed), [needed]);
  useEffect(() => () => told.current?.(0), []);
  const before = first ? first.start - scrollMargin : 0;
  const after = last ? virtualizer.getTotalSize() - (last.end - scrollMargin) : 0;
  return (
    <tbody ref={body}>
      <Spacer height={before} columnCount={columnCount} />
      {items.map((item) => {
        const row = rows[item.index];
        const measure = { 'data-index': item.index, ref: virtualizer.measureElement };
        if (row === undefined)
          return <PlaceholderRow key={item.key} columnCount={columnCount} height={estimate} measure={measure} />;
        return <Fragment key={item.key}>{renderRow(row, measure)}</Fragment>;
      })}
      <Spacer height={after} columnCount={columnCount} />
    </tbody>
  );
}
