/**
 * Result rows as a terminal table, JSON or CSV (for `abtel sql`).
 */

/** One cell as text: numbers as is, objects as JSON, null as empty (table) or empty (CSV). */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * A plain aligned table; long cells are cut to `maxWidth` characters with an ellipsis.
 * @example
 * formatTable([{ variation: 'control', units: 10 }]);
 */
export function formatTable(rows: readonly Record<string, unknown>[], columns?: readonly string[], maxWidth = 48): string {
  const names = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  if (names.length === 0) return '(no columns)\n';
  const cut = (text: string): string => {
    const flat = text.replace(/\s+/g, ' ');
    return flat.length > maxWidth ? `${flat.slice(0, maxWidth - 1)}…` : flat;
  };
  const body = rows.map((row) => names.map((name) => cut(cellText(row[name]))));
  const widths = names.map((name, i) => Math.max(name.length, ...body.map((cells) => cells[i]!.length)));
  const numeric = names.map((name) => rows.length > 0 && rows.every((row) => row[name] === null || typeof row[name] === 'number'));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  const out = [line([...names]), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  out.push(`(${rows.length} row${rows.length === 1 ? '' : 's'})`);
  return `${out.join('\n')}\n`;
}

/**
 * RFC 4180 CSV with a header row.
 * @example
 * formatCsv([{ a: 1, b: 'x,y' }]); // 'a,b\r\n1,"x,y"\r\n'
 */
export function formatCsv(rows: readonly Record<string, unknown>[], columns?: readonly string[]): string {
  const names = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  const quote = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);
  const lines = [names.map(quote).join(','), ...rows.map((row) => names.map((name) => quote(cellText(row[name]))).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}
