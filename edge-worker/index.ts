/** Edge workers: run the tails of UE requests from BullMQ within their declared units. */

export { type CalibrationOptions, EdgeCalibration } from './calibration.js';
export { defaultEdgeModels, edgeModels, edgeStatus, emulatedEdgeExecutor } from './edge-status.js';
export type { EdgeWorker, EdgeWorkerStats, QueueStats } from './edge-worker-api.js';
export {
  EdgeWorkerOptionsError,
  type TailFailure,
  TailJobError,
} from './errors.js';
export { type FleetUpdate, FleetView } from './fleet-view.js';
export type {
  JobEndEvent,
  JobStartEvent,
  JobTimesObserver,
  PackingReport,
} from './job-events.js';
export type { EdgeWorkerOptions } from './options.js';
export {
  type Packing,
  packingDigest,
  packUnits,
  servedUes,
  sharesOf,
  type UeUnits,
  type WorkerUnits,
} from './packing.js';
export { planQueues, type QueuePlan } from './queue-plan.js';
export type { QueueMode } from './queue-workers.js';
export {
  EDGE_WORKER_DEFAULTS,
  type ResolvedEdgeWorkerOptions,
  resolveEdgeWorkerOptions,
} from './resolve-options.js';
export { type Release, Semaphore } from './semaphore.js';
export { startEdgeWorker } from './start-edge-worker.js';
export { parseTailJobData, runTailJob, type TailContext, tensorFromBytes } from './tail-job.js';
