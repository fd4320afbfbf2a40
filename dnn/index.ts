export { CATALOG_DEVICE_IDS, DEVICE_CLASSES, type DeviceClass } from './device-classes.js';
export { EDGE_UNIT, type EdgeUnitClass } from './edge-unit.js';
export { EmulatedExecutor, type EmulatedExecutorOptions } from './emulated-executor.js';
export { FleetOptionsError, ModelShapeError, UnknownModelError } from './errors.js';
export { type Executor, SegmentError, type SegmentRequest } from './executor.js';
export {
  BATCH_SIZES,
  type FleetMember,
  type FleetOptions,
  type FleetPlan,
  generateFleet,
  LINK_JITTER,
  MAX_FLEET_UES,
  MAX_SEED,
  planFleet,
} from './fleet-generate.js';
export {
  elementCount,
  type LayerCost,
  LayerShapeError,
  layerCost,
  layersCost,
  type Shape,
} from './layer-cost.js';
export * from './layers.js';
export { LINK_CLASSES, type LinkClass } from './link-classes.js';
export type { Block, ModelSpec } from './model-spec.js';
export * from './onnx/index.js';
export {
  DEFAULT_MAX_SESSIONS,
  OnnxExecutor,
  type OnnxExecutorOptions,
} from './onnx-executor.js';
export { OnnxThreadPool, type OnnxThreadPoolOptions } from './onnx-thread-pool.js';
export {
  type BlockProfile,
  BYTES_PER_ELEMENT,
  type CutProfile,
  type ModelProfile,
  profileModel,
} from './profile.js';
export {
  type MeasuredProfile,
  measuredProfileSchema,
  ProfileFileError,
  readProfileFile,
  writeProfileFile,
} from './profile-file.js';
export { measureProfile, type ProfileOptions } from './profiler.js';
export { type DeviceCut, deviceProfile, edgeProfile } from './runtime-profile.js';
export {
  CATALOG_SCENARIO,
  CONTENDED_SCENARIO,
  loadScenario,
  parseScenario,
  SCENARIO_NAMES,
  SCENARIOS,
  type Scenario,
  ScenarioError,
  scenarioSchema,
} from './scenario.js';
export {
  ThreadedOnnxExecutor,
  type ThreadedOnnxExecutorOptions,
} from './threaded-onnx-executor.js';
export {
  getModel,
  getModelProfile,
  hasModel,
  listModels,
  type ModelTotals,
  modelCuts,
  modelTotals,
  REAL_MODELS,
} from './zoo.js';
