/** `value` if it is an Error, else an Error whose message is `value` as text. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
