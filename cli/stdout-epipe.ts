/**
 * A reader that goes away (`edgesplit fleet generate | head`) makes writes to stdout fail with
 * EPIPE; without a handler Node prints a stack trace and exits 1.
 */

let closed = false;

/** Whether stdout's reader has gone: commands skip what they would only say to explain a stop. */
export const stdoutClosed = (): boolean => closed;

/**
 * Ends the command quietly once stdout's reader has gone: a command that stops cleanly on
 * SIGTERM (the long-running ones: it finishes requests in flight and closes what it started)
 * gets one; any other exits at once with its exit code so far (0 unless it failed). Later
 * errors on stdout are ignored; errors other than EPIPE are thrown as before.
 */
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (closed) return;
    if (error.code !== 'EPIPE') throw error;
    closed = true;
    if (process.listenerCount('SIGTERM') > 0) process.kill(process.pid, 'SIGTERM');
    else process.exit();
  });
}
