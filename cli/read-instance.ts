import { readFile } from 'node:fs/promises';
import { asError } from '../runtime/as-error.js';
import { parseInstance } from '../scheduler/instance.js';
import type { Instance } from '../scheduler/instance-schema.js';

/** Reads and validates an instance file; on failure, the lines to print on stderr. */
export async function readInstance(
  file: string,
): Promise<{ ok: true; value: Instance } | { ok: false; lines: string[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, lines: [`${file}: cannot read: ${asError(error).message}`] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, lines: [`${file}: not valid JSON: ${asError(error).message}`] };
  }
  const parsed = parseInstance(json);
  if (parsed.ok) return parsed;
  return {
    ok: false,
    lines: [`${file}: invalid instance:`, ...parsed.error.issues.map((l) => `  ${l}`)],
  };
}
