/** The UE agent, the fleet simulator and bandwidth traces. */

export type { AgentEvents } from './agent-events.js';
export type { AgentConfig, AgentOptions, BeforeDecision, DeviceSpec } from './agent-options.js';
export { resolveAgentOptions } from './agent-options.js';
export { AGENT_VERSION, type ConnectionStatus } from './agent-session.js';
export type { AgentCounters, AgentStats, TaskRecord } from './agent-stats.js';
export {
  checkLinkRates,
  downloadWaitMs,
  LINK_MODES,
  type LinkMode,
  type LinkRates,
  linkClassRates,
  linkEstimateOf,
  transferMs,
  uploadWaitMs,
} from './emulated-link.js';
export { AgentOptionsError, AgentStoppedError, NoDecisionError, TraceError } from './errors.js';
export { type Credentials, type FleetRunOptions, runFleet } from './fleet-simulator.js';
export {
  type FleetSummary,
  formatWindow,
  type LatencySpread,
  summarizeFleet,
  type WindowSummary,
} from './fleet-summary.js';
export {
  type Estimated,
  type LinkEstimateView,
  LinkEstimator,
  type LinkEstimatorOptions,
  mbpsOf,
  type ResultArrival,
  type RoundTripSample,
  type UploadSample,
} from './link-estimator.js';
export { estimateMoved, linkMessageOf } from './link-message.js';
export { LinkMeter, probeBytesFor } from './link-meter.js';
export {
  errorPcts,
  formatPredictionErrors,
  type PredictionErrors,
  type PredictionGroup,
  predictionErrors,
  type UePredictionError,
  ueErrors,
} from './prediction-error.js';
export { type RequestOutcome, RequestTracker, type ResultDisposition } from './request-tracker.js';
export { sampleInput } from './sample-input.js';
export { localPlan, type SampleFailure, type TaskPlan, type TaskResult } from './task-result.js';
export { parseTraceArg, type TraceArg, type TraceSpec, traceForUe } from './trace-spec.js';
export {
  type BandwidthTrace,
  constantTrace,
  parseStepSpec,
  parseTraceCsv,
  pointsTrace,
  type RandomWalkOptions,
  randomWalkTrace,
  stepTrace,
  type TracePoint,
} from './traces.js';
export { type StopOptions, startAgent, type UeAgent } from './ue-agent.js';
export { uploadSampleOf } from './upload-sample.js';
