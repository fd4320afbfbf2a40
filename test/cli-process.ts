/**
 * The built CLI (`dist/cli/main.js`) run as real processes for the system tests: their output
 * kept line by line, waits on a line, liveness by pid, and a clean stop with its exit code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cliPath } from './cli-run.js';
import { type LogRecord, parseLogLine } from './log-lines.js';
import { WAIT_MS } from './wait-until.js';

const root = fileURLToPath(new URL('..', import.meta.url));

export type Stream = 'stdout' | 'stderr';

/** How a process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface WaitForLogOptions {
  readonly timeoutMs?: number;
  /** Log lines (not output lines) to skip. */
  readonly from?: number;
  readonly where?: (record: LogRecord) => boolean;
}

/** Throws unless the CLI has been built (`npm run build`; `npm test` builds first). */
export function assertCliBuilt(): void {
  if (!existsSync(cliPath))
    throw new Error(`${cliPath} is missing: run "npm run build" before the system tests`);
}

/** One `edgesplit ...` process. */
export class CliProcess {
  readonly lines: Record<Stream, string[]> = { stdout: [], stderr: [] };
  readonly exited: Promise<Exit>;
  private readonly child: ChildProcess;
  private readonly parsed: LogRecord[] = [];
  private parsedLines = 0;

  private constructor(
    readonly name: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [cliPath, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.collect('stdout');
    this.collect('stderr');
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Spawns `node dist/cli/main.js ...args` with `env` added to this process's environment. */
  static start(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
    return new CliProcess(name, args, env);
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name} has no pid (spawn failed)`);
    return pid;
  }

  /** Whether the process has not exited and its pid still answers signal 0. */
  alive(): boolean {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return false;
    try {
      process.kill(this.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  /** Lines of `stream` matching `pattern`. */
  matching(stream: Stream, pattern: RegExp): string[] {
    return this.lines[stream].filter((line) => pattern.test(line));
  }

  /** Waits for a line of `stream` matching `pattern` (after the first `from` lines). */
  async waitFor(stream: Stream, pattern: RegExp, timeoutMs = WAIT_MS, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines[stream].slice(from).find((l) => pattern.test(l));
      if (line !== undefined) return line;
      if (!this.alive())
        throw new Error(`${this.name} exited while waiting for ${pattern}\n${this.tail()}`);
      if (Date.now() > deadline)
        throw new Error(
          `${this.name}: no line matching ${pattern} in ${timeoutMs} ms\n${this.tail()}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The log lines written so far (JSON lines on stderr), parsed. */
  logs(): LogRecord[] {
    const lines = this.lines.stderr;
    for (; this.parsedLines < lines.length; this.parsedLines++) {
      const record = parseLogLine(lines[this.parsedLines] ?? '');
      if (record !== undefined) this.parsed.push(record);
    }
    return this.parsed;
  }

  /** Log lines whose message matches `pattern`. */
  logMatching(pattern: RegExp): LogRecord[] {
    return this.logs().filter((record) => pattern.test(record.msg));
  }

  /**
   * Waits for a log line whose message matches `pattern` (and `where`, if given), among the log
   * lines after the first `from`; resolves with it.
   */
  async waitForLog(
    pattern: RegExp,
    { timeoutMs = WAIT_MS, from = 0, where }: WaitForLogOptions = {},
  ): Promise<LogRecord> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs()
        .slice(from)
        .find((record) => pattern.test(record.msg) && (where?.(record) ?? true));
      if (found !== undefined) return found;
      if (!this.alive())
        throw new Error(
          `${this.name} exited while waiting for a log line ${pattern}\n${this.tail()}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `${this.name}: no log line matching ${pattern} in ${timeoutMs} ms\n${this.tail()}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Sends SIGTERM and resolves with the exit; SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 10_000): Promise<Exit> {
    if (this.alive()) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends `signal` (SIGSTOP and SIGCONT pause and resume it) if the process still runs. */
  signal(signal: NodeJS.Signals): void {
    if (this.alive()) this.child.kill(signal);
  }

  /** SIGKILL (a crash, or clean-up after a failed test); resolves with the exit. */
  kill(): Promise<Exit> {
    if (this.alive()) this.child.kill('SIGKILL');
    return this.exited;
  }

  /** The last lines of output, for failure messages. */
  tail(count = 20): string {
    const last = (stream: Stream) => this.lines[stream].slice(-count).join('\n');
    return `--- ${this.name} stdout\n${last('stdout')}\n--- ${this.name} stderr\n${last('stderr')}`;
  }

  private collect(stream: Stream): void {
    let partial = '';
    this.child[stream]?.setEncoding('utf8');
    this.child[stream]?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      this.lines[stream].push(...parts);
    });
  }
}
