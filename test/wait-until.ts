/**
 * How long the tests wait for something that should happen (a process up, a message through,
 * a status): generous, since it only costs time when the test fails anyway, and a busy CI
 * machine can take seconds for what takes milliseconds on a quiet one. Tests never assert that
 * something happened quickly; a time that matters is a benchmark's figure.
 */
export const WAIT_MS = 60_000;

/**
 * Polls `check` every 10 ms until it holds; fails naming `what` after `timeoutMs`, also when a
 * check itself never settles (a request to a server that does not answer).
 */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const timedOut = () => new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  for (;;) {
    const outcome = check();
    if (typeof outcome === 'boolean' ? outcome : await beforeDeadline(outcome, deadline, timedOut))
      return;
    if (performance.now() > deadline) throw timedOut();
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** `work`'s value, or `error()` thrown once `deadline` (performance.now()) has passed. */
export async function beforeDeadline<T>(
  work: Promise<T>,
  deadline: number,
  error: () => Error,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
