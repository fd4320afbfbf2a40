/**
 * How cells are aligned: `numbers` right-aligns the cells that look like numbers (`12.5 ms`,
 * `3x`, `-1`) and left-aligns the rest; `first-left` left-aligns the first column and
 * right-aligns every other.
 */
export type TableAlign = 'numbers' | 'first-left';

const NUMERIC = /^[-+]?[\d.,]+( ?[a-z%x]+)?$/i;

/** Renders rows as an aligned text table, two spaces between columns and a rule under the header. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: TableAlign = 'numbers',
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const right =
    align === 'numbers'
      ? (cell: string) => NUMERIC.test(cell)
      : (_cell: string, column: number) => column > 0;
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => {
        // A cell past the header has no column width to pad to.
        const width = widths[c] ?? 0;
        return right(cell, c) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatMs(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(ms >= 100 ? 1 : 3) : String(ms);
}
