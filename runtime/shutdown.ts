/**
 * The one way a process of edgesplit waits for SIGINT or SIGTERM: every command that runs until
 * stopped waits through `stopSignal`, then closes what it started.
 */

/** Signals that ask a process to stop cleanly. */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export interface StopSignalOptions {
  /** Resolves the wait (with undefined) when it settles: a run that ends by itself. */
  readonly done?: Promise<unknown> | undefined;
  /**
   * Called on every further signal while the process stops (to exit without waiting). Without
   * it the handlers go with the first signal, and a second one acts as if none were installed.
   */
  readonly again?: (signal: NodeJS.Signals) => void;
}

/**
 * Resolves with the first SIGINT or SIGTERM, or with undefined once `done` settles. Install it
 * before starting anything, so that a signal during start-up is not lost.
 */
export function stopSignal(options: StopSignalOptions = {}): Promise<NodeJS.Signals | undefined> {
  const { done, again } = options;
  return new Promise((resolve) => {
    let stopping = false;
    const remove = () => {
      for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    };
    function onSignal(signal: NodeJS.Signals): void {
      if (stopping) {
        again?.(signal);
        return;
      }
      stopping = true;
      if (again === undefined) remove();
      resolve(signal);
    }
    for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    done?.then(
      () => {
        if (stopping) return;
        stopping = true;
        remove();
        resolve(undefined);
      },
      () => {
        if (stopping) return;
        stopping = true;
        remove();
        resolve(undefined);
      },
    );
  });
}
