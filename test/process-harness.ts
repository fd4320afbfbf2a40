import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cliPath } from './cli-run.js';

/** A built `edgesplit` command running in its own process, its output kept for assertions. */
export class CliProcess {
  output = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = once(child, 'exit').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
    }));
  }

  static start(name: string, args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new CliProcess(name, child);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first match of `pattern` in the output; rejects on exit or timeout. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.output.match(pattern);
      if (match !== null) return match;
      if (!this.alive())
        throw new Error(`${this.name} exited before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline)
        throw new Error(
          `${this.name} did not print ${pattern} in ${timeoutMs} ms:\n${this.output}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends `signal` (if still running) and waits for the exit. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.alive()) this.child.kill(signal);
    return this.exited;
  }

  exit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }
}

/** Processes started by one test, stopped together. */
export class ProcessGroup {
  readonly processes: CliProcess[] = [];

  start(name: string, args: readonly string[], env: NodeJS.ProcessEnv): CliProcess {
    const process = CliProcess.start(name, args, env);
    this.processes.push(process);
    return process;
  }

  /** Names of processes that died without being asked to. */
  dead(): string[] {
    return this.processes.filter((p) => !p.alive()).map((p) => `${p.name}: ${p.output}`);
  }

  /**
   * SIGTERM to every process; one still running after `graceMs` is killed, and named in the
   * returned list (a clean shutdown is part of the contract, so callers may assert it empty).
   */
  async stopAll(graceMs = 10_000): Promise<string[]> {
    const stuck: string[] = [];
    await Promise.all(
      this.processes.map(async (p) => {
        const exited = p.stop('SIGTERM');
        const timer = setTimeout(() => {
          stuck.push(
            `${p.name} (pid ${p.pid}) ignored SIGTERM for ${graceMs} ms:\n${p.output.slice(-1500)}`,
          );
          p.child.kill('SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    return stuck;
  }
}
