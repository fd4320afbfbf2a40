/** The scheduler service: fleet state, change detection, decisions, queue concurrency. */

export { BullmqConcurrency } from './bullmq-concurrency.js';
export { RedisDecisionLedger } from './decision-ledger.js';
export { SchedulerOptionsError, SchedulerTransportError } from './errors.js';
export {
  buildInstance,
  edgeUnits,
  type FleetInstance,
  type ForcedLocal,
} from './fleet-instance.js';
export {
  applyFleetEvent,
  applyFleetEventInPlace,
  EMPTY_FLEET,
  type FleetEvent,
  type FleetState,
  type FleetUpdate,
  isScheduled,
  linkMovedPast,
  type MutableFleetState,
  type ReducerOptions,
  type UeRecord,
} from './fleet-state.js';
export { type Inbound, routeMessage } from './inbound.js';
export {
  IncrementalFleet,
  type IncrementalInput,
  type IncrementalStats,
} from './incremental-fleet.js';
export { LeaderLock, leaderKey } from './leader-lock.js';
export { MqttDecisionSink } from './mqtt-sink.js';
export {
  defaultSchedulerId,
  type ResolvedSchedulerOptions,
  resolveSchedulerOptions,
  SCHEDULER_DEFAULTS,
  type SchedulerOptions,
} from './options.js';
export {
  applyPlan,
  type ConcurrencyChange,
  type DecisionPlan,
  type DecisionUpdate,
  decisionChanged,
  decisionsAfter,
  type PlanInput,
  PREDICTED_MS_TOLERANCE,
  planDecisions,
  queueConcurrency,
  type TargetDecision,
  type TargetTable,
  targetTable,
} from './planner.js';
export type {
  ConcurrencyPort,
  DecisionLedger,
  DecisionSink,
  LedgerOutcome,
  LedgerRecord,
} from './ports.js';
export { SchedulerEngine, type SchedulerEngineOptions } from './scheduler-engine.js';
export type {
  RejectedPayload,
  SchedulerEvents,
  SchedulerSnapshot,
  SchedulerStats,
  SolveReport,
} from './scheduler-events.js';
export { type Scheduler, startScheduler } from './scheduler-service.js';
export {
  DEFAULT_LOCK_TTL_MS,
  type StandbyOptions,
  type StandbyScheduler,
  startStandbyScheduler,
} from './standby.js';
