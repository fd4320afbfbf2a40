/**
 * Assembling a system: the parts of a stack started in one process (broker with ingress,
 * scheduler, edge workers, dashboard) with one `close()`, the run `edgesplit up` makes of them,
 * and what starting one needs (free ports, a private Redis, deleting a prefix's keys).
 */
export { type EmbeddedBroker, type EmbeddedBrokerOptions, startEmbeddedBroker } from './broker.js';
export { type EdgeWorkers, type EdgeWorkersOptions, startEdgeWorkers } from './edge-workers.js';
export { bindError, freePort, onPath, reachable, waitForPort } from './net.js';
export {
  type PrivateMosquitto,
  type PrivateMosquittoOptions,
  startPrivateMosquitto,
} from './private-mosquitto.js';
export {
  NoRedisServerError,
  type PrivateRedis,
  REDIS_INSTALL_HINT,
  startPrivateRedis,
} from './private-redis.js';
export { deleteKeys } from './redis-keys.js';
export { type Inference, type RunOptions, type RunResult, runStack } from './run.js';
export { type SchedulerPart, type SchedulerPartOptions, startSchedulerPart } from './scheduler.js';
export { formatSolve, logSchedulerEvents, solveFields } from './scheduler-log.js';
export {
  type EdgeInference,
  type Stack,
  type StackOptions,
  type SystemView,
  startStack,
} from './stack.js';
