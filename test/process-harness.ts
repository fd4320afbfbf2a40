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
   * SIGTERM to every process; one still running after `graceMs` is killed, and named in the
   * returned list (a clean shutdown is part of the contract, so callers may assert it empty).
   */
  async stopAll(graceMs = 10_000): Promise<string[]> {
    const stuck: string[] = [];
    await Promise.all(
      this.processes.map(async (p) => {
        if (!p.alive()) return;
        const exit = await p.stop(graceMs);
        if (exit.signal === 'SIGKILL')
          stuck.push(`${p.name} (pid ${p.pid}) ignored SIGTERM for ${graceMs} ms:\n${p.tail()}`);
      }),
    );
    return stuck;
  }
}
