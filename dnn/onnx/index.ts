export { OnnxImportError, type OnnxImportProblem } from './errors.js';
export { type ExportRange, exportModel } from './export-model.js';
export {
  DEFAULT_IMPORT_LIMITS,
  type ImportLimitName,
  type ImportLimits,
} from './import-limits.js';
export { type ImportOptions, importModel, modelName } from './import-model.js';
export { MODEL_DIR_ENV, modelStoreRoot } from './model-store.js';
export type { OnnxCut, OnnxModel } from './onnx-model.js';
export { decodeModel, encodeModel, onnx, toNumber, ZOO_OPSET } from './schema.js';
export { buildSegment, type OnnxSegment, type SegmentOptions, segmentProto } from './segment.js';
export {
  openSegmentSession,
  type SegmentSession,
  type SegmentSessionOptions,
} from './segment-session.js';
export { WeightGenerator } from './weights.js';
export { ZOO_GRAPH_VERSION } from './zoo-graph.js';
export {
  DEFAULT_WEIGHT_SEED,
  loadSpecModel,
  loadZooModel,
  type ZooModelOptions,
  zooCuts,
  zooModelKey,
} from './zoo-models.js';
