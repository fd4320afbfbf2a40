/**
 * The Python client (clients/python) keeps its own copy of the protocol's retryable error codes
 * (`RETRYABLE` in edgesplit_client/client.py); this test holds it to the TypeScript table
 * (`RETRYABLE_ERROR_CODES`, proto/errors.ts), so that a code made retryable or final on one side
 * cannot leave the client resending a request the system refused for good, or giving up on one
 * it would have taken a moment later. It reads the file; it needs no Python.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RETRYABLE_ERROR_CODES } from '../proto/index.js';

const clientPy = fileURLToPath(
  new URL('../clients/python/edgesplit_client/client.py', import.meta.url),
);

/** The string literals of the `RETRYABLE = frozenset({...})` assignment in `source`. */
function pythonRetryable(source: string): string[] {
  const assignment = /^RETRYABLE\s*=\s*frozenset\(\s*\{([^}]*)\}\s*\)/m.exec(source);
  if (assignment?.[1] === undefined)
    throw new Error('client.py has no `RETRYABLE = frozenset({...})` of string literals');
  return assignment[1]
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const literal = /^(["'])([A-Z_]+)\1$/.exec(item);
      if (literal?.[2] === undefined)
        throw new Error(`RETRYABLE in client.py holds ${item}, not a code's string literal`);
      return literal[2];
    });
}

describe('the Python client', () => {
  it('retries after exactly the error codes the protocol table marks retryable, each named once', () => {
    const codes = pythonRetryable(readFileSync(clientPy, 'utf8'));
    expect(new Set(codes).size, codes.join(', ')).toBe(codes.length);
    expect([...codes].sort()).toEqual([...RETRYABLE_ERROR_CODES].sort());
  });
});
