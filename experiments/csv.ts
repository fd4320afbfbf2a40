import { writeFile } from 'node:fs/promises';

export type CsvValue = string | number | boolean | null;

function cell(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Writes rows as CSV with a header line of `columns` (RFC 4180 quoting, empty for null/NaN). */
export async function writeCsv(
  file: string,
  columns: readonly string[],
  rows: readonly Readonly<Record<string, CsvValue>>[],
): Promise<void> {
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => cell(row[c] ?? null)).join(','));
  await writeFile(file, `${lines.join('\n')}\n`);
}
