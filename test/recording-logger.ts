import type { Logger } from '../broker/index.js';

/** A logger that keeps every line, for tests that look at what was logged. */
export function recordingLogger(): { readonly lines: string[]; readonly logger: Logger } {
  const lines: string[] = [];
  const keep = (line: string) => {
    lines.push(line);
  };
  return { lines, logger: { info: keep, warn: keep, error: keep } };
}
