import { EdgesplitError, type ErrorOptions, OptionError } from '../proto/index.js';

/** Agent options that cannot be acted on; `option` names the bad one. */
export class AgentOptionsError extends OptionError {
  override readonly option: string;
  constructor(option: string, reason: string, options?: ErrorOptions) {
    super(`${option}: ${reason}`, { ...options, option });
    this.name = 'AgentOptionsError';
    this.option = option;
  }
}

/** No decision arrived within the wait a task allows before its first decision. */
export class NoDecisionError extends EdgesplitError<'NO_DECISION'> {
  readonly waitedMs: number;
  constructor(ue: string, waitedMs: number, options?: ErrorOptions) {
    super('NO_DECISION', `UE "${ue}": no decision arrived within ${waitedMs} ms`, options);
    this.name = 'NoDecisionError';
    this.waitedMs = waitedMs;
  }
}

/** The agent was stopped: no new task starts, and a task cut short rejects with this. */
export class AgentStoppedError extends EdgesplitError<'AGENT_STOPPED'> {
  constructor(ue: string, options?: ErrorOptions) {
    super('AGENT_STOPPED', `UE "${ue}": agent stopped`, options);
    this.name = 'AgentStoppedError';
  }
}

/** A bandwidth trace that cannot be used; `line` is the 1-based line of a CSV file, if any. */
export class TraceError extends EdgesplitError<'INVALID_TRACE'> {
  readonly line: number | undefined;
  constructor(message: string, line?: number, options?: ErrorOptions) {
    super('INVALID_TRACE', message, options);
    this.name = 'TraceError';
    this.line = line;
  }
}
