import { Fragment, type HTMLAttributes, type ReactNode, type TdHTMLAttributes, useEffect, useRef } from 'react';
import { PlaceholderRow, type VirtualRowMeasure, VirtualTableBody } from './VirtualTableBody';

/** `data-*` attributes, which tests and styles select rows by. */
type DataAttributes = { [attribute: `data-${string}`]: string | number | boolean | null | undefined };

export interface Column<Row> {
  /** The heading. */
  header: ReactNode;
  /** The heading is for screen readers only (an actions or a chevron column). */
  hiddenHeader?: boolean;
  headerClassName?: string;
  headerTitle?: string;
  /** The name a phone shows beside the value when the table becomes cards (default: a text header). */
  cardLabel?: string;
  /** What one row shows in this column. */
  cell(row: Row): ReactNode;
  /** Classes of every cell in this column. */
  className?: string;
  /** Other attributes of one row's cell, e.g. a title. */
  cellProps?(row: Row): TdHTMLAttributes<HTMLTableCellElement>;
}

/** What a phone writes before a cell's value: its column's name, unless that is hidden or not text. */
function cardLabelOf<Row>(column: Column<Row>): string | undefined {
  if (column.cardLabel !== undefined) return column.cardLabel || undefined;
  if (column.hiddenHeader) return undefined;
  return typeof column.header === 'string' ? column.header : undefined;
}

function cellAttributes<Row>(column: Column<Row>, row: Row): TdHTMLAttributes<HTMLTableCellElement> & DataAttributes {
  return { className: column.className, 'data-label': cardLabelOf(column), ...column.cellProps?.(row) };
}

/** A column left out when a condition is false: `showTarget && { … }`. */
type MaybeColumn<Row> = Column<Row> | false | null | undefined;

interface DataTableProps<Row> {
  /** The table's accessible name. */
  label: string;
  columns: readonly MaybeColumn<Row>[];
  rows: readonly Row[];
  rowKey(row: Row): string;
  /** Attributes of a row: `data-*`, a class, a click handler. */
  rowProps?(row: Row): HTMLAttributes<HTMLTableRowElement> & DataAttributes;
  /** A row of details under a row, across every column; null when there is none (or it is closed). */
  rowDetails?(row: Row): ReactNode;
  /** Attributes of a details row; its class adds to "details-row". */
  detailsProps?(row: Row): HTMLAttributes<HTMLTableRowElement> & DataAttributes;
  /** Classes added to "table", e.g. "table-compact table-clickable". */
  className?: string;
  /** Shown instead of the table when there is no row; without it, an empty table is not shown at all. */
  empty?: ReactNode;
  /** Inside a scrolling wrapper (the default), or bare inside another table's details. */
  wrap?: boolean;
  /**
   * Long lists: past this many rows (`true`: past {@link VIRTUAL_ABOVE}), only the rows in view are
   * in the page, as the window scrolls; shorter lists stay whole.
   */
  virtual?: boolean | number;
  /** A virtual row's height before it is measured (px): a good guess keeps the scroll bar still. */
  virtualRowHeight?: number;
  /**
   * A list loaded a page at a time: it has `total` rows, and those past `rows` show as placeholders
   * (the scroll bar is the whole list's). `onRowsNeeded` says how many rows the page needs to show
   * the rows in view (0: they are all loaded).
   */
  paging?: { total: number; onRowsNeeded(count: number): void };
}

/** The placeholders of a short list's rows still to come: all of them in the page, so all needed. */
function PlaceholderRows({
  loaded,
  total,
  columnCount,
  onRowsNeeded,
}: {
  loaded: number;
  total: number;
  columnCount: number;
  onRowsNeeded(count: number): void;
}) {
  const told = useRef(onRowsNeeded);
  told.current = onRowsNeeded;
  const needed = total > loaded ? total : 0;
  useEffect(() => told.current(needed), [needed]);
  useEffect(() => () => told.current(0), []);
  return (
    <>
      {Array.from({ length: total - loaded }, (_, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: placeholders are all alike; only their number counts.
        <PlaceholderRow key={index} columnCount={columnCount} />
      ))}
    </>
  );
}

/** How many rows a virtual table shows whole. */
export const VIRTUAL_ABOVE = 100;

/** The one list table: headings, rows, optional details rows, and what to show when the list is empty. */
export function DataTable<Row>({
  label,
  columns: maybeColumns,
  rows,
  rowKey,
  rowProps,
  rowDetails,
  detailsProps,
  className,
  empty = null,
  wrap = true,
  virtual = false,
  virtualRowHeight,
  paging,
}: DataTableProps<Row>) {
  if (rows.length === 0) return <>{empty}</>;
  const columns = maybeColumns.filter((column): column is Column<Row> => Boolean(column));
  const virtualAbove = virtual === true ? VIRTUAL_ABOVE : virtual === false ? Number.POSITIVE_INFINITY : virtual;
  const count = Math.max(rows.length, paging?.total ?? 0);
  /** One row, its details row under it when open; a virtual row's first <tr> is measured. */
  const renderRow = (row: Row, measure?: VirtualRowMeasure) => {
    const details = rowDetails?.(row);
    const { className: detailsClass, ...detailsAttributes } = (details && detailsProps?.(row)) || {};
    return (
      <>
        <tr {...rowProps?.(row)} {...measure}>
          {columns.map((column, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: columns are a fixed list, in a fixed order.
            <td key={index} {...cellAttributes(column, row)}>
              {column.cell(row)}
            </td>
          ))}
        </tr>
        {details ? (
          <tr {...detailsAttributes} className={detailsClass ? `details-row ${detailsClass}` : 'details-row'}>
            <td colSpan={columns.length}>{details}</td>
          </tr>
        ) : null}
      </>
    );
  };
  const table = (
    <table className={className ? `table ${className}` : 'table'} aria-label={label}>
      <thead>
        <tr>
          {columns.map((column, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: columns are a fixed list, in a fixed order.
            <th key={index} scope="col" className={column.headerClassName} title={column.headerTitle}>
              {column.hiddenHeader ? <span className="visually-hidden">{column.header}</span> : column.header}
            </th>
          ))}
        </tr>
      </thead>
      {count > virtualAbove ? (
        <VirtualTableBody
          rows={rows}
          count={count}
          onRowsNeeded={paging?.onRowsNeeded}
          rowKey={rowKey}
          columnCount={columns.length}
          renderRow={renderRow}
          rowHeight={virtualRowHeight}
        />
      ) : (
        <tbody>
          {rows.map((row) => (
            <Fragment key={rowKey(row)}>{renderRow(row)}</Fragment>
          ))}
          {paging ? (
            <PlaceholderRows
              loaded={rows.length}
              total={count}
              columnCount={columns.length}
              onRowsNeeded={paging.onRowsNeeded}
            />
          ) : null}
        </tbody>
      )}
    </table>
  );
  return wrap ? <div className="table-wrap">{table}</div> : table;
}
