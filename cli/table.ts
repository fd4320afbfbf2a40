/** Renders rows as an aligned text table; numeric-looking cells are right-aligned. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const numeric = /^[-+]?[\d.,]+( ?[a-z%x]+)?$/i;
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => {
        // A cell past the header has no column width to pad to.
        const width = widths[c] ?? 0;
        return numeric.test(cell) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function formatMs(ms: number): string {
  return Number.isFinite(ms) ? ms.toFixed(ms >= 100 ? 1 : 3) : String(ms);
}
