/** Log lines of edgesplit processes (runtime/log.ts: one JSON object per line off a terminal). */

/** One parsed log line. */
export interface LogRecord {
  readonly level: string;
  readonly time: string;
  readonly msg: string;
  readonly component?: string;
  readonly [field: string]: unknown;
}

/** `line` as a log record, or undefined when it is not one (a usage error of commander, say). */
export function parseLogLine(line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value !== 'object' || value === null) return undefined;
    const record = value as Record<string, unknown>;
    if (typeof record.level !== 'string' || typeof record.msg !== 'string') return undefined;
    return record as LogRecord;
  } catch {
    return undefined;
  }
}

/** The messages of a process's output: each log line's `msg`, any other line as it is. */
export function logMessages(output: string): string[] {
  return output
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => parseLogLine(line)?.msg ?? line);
}

/** The messages joined by newlines, for `toMatch` and `toContain` on what a process said. */
export function messageText(output: string): string {
  return logMessages(output).join('\n');
}

/** The log lines of a process's output, parsed (other lines left out). */
export function logRecords(output: string): LogRecord[] {
  return output.split('\n').flatMap((line) => parseLogLine(line) ?? []);
}
