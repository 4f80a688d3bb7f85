/**
 * Prints rows as an aligned text table. With `width`, the last column is cut (with …) so
 * each line fits: on a terminal, its width.
 */
export function formatTable(headers: string[], rows: (string | number)[][], width?: number): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const lead = widths.slice(0, -1).reduce((sum, w) => sum + w + 2, 0);
  const room = width === undefined ? Infinity : Math.max(10, width - lead);
  return cells
    .map((r) => r.map((c, i) => (i === r.length - 1 ? cut(c, room) : c.padEnd(widths[i]!))).join('  ').trimEnd())
    .join('\n');
}

function cut(text: string, room: number): string {
  return text.length <= room ? text : `${text.slice(0, room - 1)}…`;
}

/** The terminal's width, or `fallback` when output goes to a file or pipe. */
export function outputWidth(fallback: number): number {
  return process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : fallback;
}
