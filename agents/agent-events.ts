import type { Decision, ErrorReport, InferResult, LinkEstimate } from '../proto/index.js';
import type { ConnectionStatus } from './agent-session.js';
import type { TaskResult } from './task-result.js';

/** Events of a UE agent (listeners receive these arguments). */
export type AgentEvents = {
  /** A decision that changed the epoch, cut, units or prediction; applies from the next task. */
  decision: [decision: Decision];
  /** A result accepted for one of the agent's requests. */
  result: [result: InferResult];
  task: [task: TaskResult];
  /** A report on `ue/{ue}/error`; one naming a pending request fails that request. */
  error: [report: ErrorReport];
  /** Something went wrong inside the agent (invalid payload, failed publish, failed task). */
  warning: [error: Error];
  status: [status: ConnectionStatus];
  /** A measured link estimate just published (`linkMode: 'measure'`). */
  link: [link: LinkEstimate];
};
