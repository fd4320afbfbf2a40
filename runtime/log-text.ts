/** Long enough to recognise a topic, short enough that hostile input can't flood the log. */
export const MAX_LOGGED_CHARS = 200;

/**
 * Text that came from the network (a topic, a client id, a validation message quoting a
 * payload), fit for one log line: JSON-quoted, so no newline or control character can forge a
 * line, and cut to `max` characters. `undefined` is shown as `-`.
 */
export function logText(value: string | undefined, max = MAX_LOGGED_CHARS): string {
  if (value === undefined) return '-';
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}...` : value);
}
