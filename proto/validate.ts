import type { z } from 'zod';
import { ValidationError, type WireErrorCode } from './errors.js';

/** Result of validating untrusted input: the typed value, or the issues that name each bad field. */
export type Validated<T> = { ok: true; value: T } | { ok: false; error: ValidationError };

/** Renders a zod issue path as `root.cuts[3].deviceMs`. */
export function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** At most this many issues are reported, so a giant bad payload yields a bounded error. */
const MAX_ISSUES = 20;

export function issuesOf(root: string, error: z.ZodError): string[] {
  const lines = error.issues
    .slice(0, MAX_ISSUES)
    .map((issue) => `${formatPath(root, issue.path)}: ${issue.message}`);
  if (error.issues.length > MAX_ISSUES)
    lines.push(`... and ${error.issues.length - MAX_ISSUES} more`);
  return lines;
}

/** Validates `input` against `schema` without throwing. */
export function validate<S extends z.ZodType>(
  schema: S,
  input: unknown,
  root: string,
  code: WireErrorCode = 'INVALID_PAYLOAD',
): Validated<z.output<S>> {
  try {
    const result = schema.safeParse(input);
    if (result.success) return { ok: true, value: result.data };
    return { ok: false, error: new ValidationError(code, issuesOf(root, result.error)) };
  } catch (cause) {
    // A schema should never throw, but hostile input must not escape as an exception.
    return {
      ok: false,
      error: new ValidationError(code, [`${root}: could not be validated`], { cause }),
    };
  }
}
