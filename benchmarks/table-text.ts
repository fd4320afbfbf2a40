/** A plain-text table: first column left-aligned, the others right-aligned, a rule under the header. */
export function tableText(header: readonly string[], body: readonly (readonly string[])[]): string {
  // A row shorter than the header leaves the rest blank; a cell past the header is not padded.
  const widths = header.map((h, k) =>
    Math.max(h.length, ...body.map((line) => (line[k] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, k) => (k === 0 ? c.padEnd(widths[k] ?? 0) : c.padStart(widths[k] ?? 0)))
      .join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(header), rule, ...body.map(line)].join('\n');
}
