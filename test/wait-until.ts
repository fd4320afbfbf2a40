/**
 * How long the tests wait for something that should happen (a process up, a message through,
 * a status): generous, since it only costs time when the test fails anyway, and a busy CI
 * machine can take seconds for what takes milliseconds on a quiet one. Tests never assert that
 * something happened quickly; a time that matters is a benchmark's figure.
 */
export const WAIT_MS = 60_000;

/** Polls `check` every 10 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = WAIT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
