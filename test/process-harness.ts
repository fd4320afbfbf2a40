import { CliProcess } from './cli-process.js';

/** Processes started by one test, stopped together. */
export class ProcessGroup {
  readonly processes: CliProcess[] = [];

  start(name: string, args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
    const started = CliProcess.start(name, args, env);
    this.processes.push(started);
    return started;
  }

  /** Names and output of processes that died without being asked to. */
  dead(): string[] {
    return this.processes.filter((p) => !p.alive()).map((p) => p.tail());
  }

  /**
   * SIGTERM to every process still running; one still running after `graceMs` is killed. Returns
   * the processes that did not shut down cleanly: killed by SIGKILL, or ended by the signal
   * itself rather than exiting on their own. A clean shutdown is part of the contract:
   * `assertStoppedCleanly` fails a test on any.
   */
  async stopAll(graceMs = 30_000): Promise<string[]> {
    const unclean: string[] = [];
    await Promise.all(
      this.processes.map(async (p) => {
        if (!p.alive()) return;
        const exit = await p.stop(graceMs);
        if (exit.signal === 'SIGKILL')
          unclean.push(`${p.name} (pid ${p.pid}) ignored SIGTERM for ${graceMs} ms:\n${p.tail()}`);
        else if (exit.signal !== null)
          unclean.push(`${p.name} (pid ${p.pid}) died of ${exit.signal}:\n${p.tail()}`);
      }),
    );
    return unclean;
  }
}

/** Throws, naming them, when some processes did not shut down cleanly (see `stopAll`). */
export function assertStoppedCleanly(unclean: readonly string[]): void {
  if (unclean.length > 0)
    throw new Error(`unclean shutdown of ${unclean.length} process(es):\n${unclean.join('\n')}`);
}
