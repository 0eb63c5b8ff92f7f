type TableRow = Record<string, string | number | boolean | null | undefined>;

const cell = (v: unknown) => (v === null || v === undefined ? '-' : String(v));

/**
 * A table printed a page at a time, as a long list arrives: the header once, then each page's
 * lines. Columns are as wide as the widest value seen so far; they never narrow, so a page only
 * widens them where a value would not fit.
 */
export function pagedTable(columns: string[]): (rows: TableRow[]) => string {
  const widths = columns.map((c) => c.length);
  let header = true;
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return (rows) => {
    for (const row of rows)
      columns.forEach((c, i) => {
        widths[i] = Math.max(widths[i] ?? 0, cell(row[c]).length);
      });
    const lines = rows.map((r) => line(columns.map((c) => cell(r[c]))));
    if (header) lines.unshift(line(columns.map((c) => c.toUpperCase())));
    header = false;
    return lines.join('\n');
  };
}

/** Plain aligned columns for people; --json for scripts. */
export function table(rows: TableRow[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  return pagedTable(columns)(rows);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export const ago = (iso: string | null): string => {
  if (!iso) return 'never';
  const seconds = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
};

/** Bytes for people: 1.5 GB. */
export const size = (bytes: number | null) => {
  if (bytes === null) return '-';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
};
