/** Agent options that cannot be acted on; `option` names the bad one. */
export class AgentOptionsError extends Error {
  readonly option: string;
  constructor(option: string, reason: string, options?: { cause?: unknown }) {
    super(`${option}: ${reason}`, options);
    this.name = 'AgentOptionsError';
    this.option = option;
  }
}

/** No decision arrived within the wait a task allows before its first decision. */
export class NoDecisionError extends Error {
  readonly waitedMs: number;
  constructor(ue: string, waitedMs: number) {
    super(`UE "${ue}": no decision arrived within ${waitedMs} ms`);
    this.name = 'NoDecisionError';
    this.waitedMs = waitedMs;
  }
}

/** The agent was stopped: no new task starts, and a task cut short rejects with this. */
export class AgentStoppedError extends Error {
  constructor(ue: string) {
    super(`UE "${ue}": agent stopped`);
    this.name = 'AgentStoppedError';
  }
}

/** A bandwidth trace that cannot be used; `line` is the 1-based line of a CSV file, if any. */
export class TraceError extends Error {
  readonly line: number | undefined;
  constructor(message: string, line?: number) {
    super(message);
    this.name = 'TraceError';
    this.line = line;
  }
}
