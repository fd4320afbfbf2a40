/**
 * The wire contract: topics, payload types and schemas, the msgpack codec, the Redis key layout
 * the services share, and the error codes. Nothing here does I/O; the helpers that do (MQTT and
 * Redis connections, the environment, timeouts) are in runtime/.
 */

export { asyncApiDocument } from './asyncapi.js';
export {
  DEFAULT_MAX_PAYLOAD_BYTES,
  type DecodeOptions,
  decodeInferBytes,
  decodeMessage,
  encodeMessage,
  UNPACK_OPTIONS,
} from './codec.js';
export {
  EdgesplitError,
  type ErrorCode,
  ErrorCodes,
  type ErrorOptions,
  isRetryableError,
  isWireError,
  isWireErrorCode,
  OptionError,
  RETRYABLE_ERROR_CODES,
  TopicError,
  ValidationError,
  WIRE_ERROR_CODES,
  type WireError,
  type WireErrorCode,
} from './errors.js';
export {
  type FastTailJobData,
  fastInferRequest,
  fastInferRequestBytes,
  fastTailJobData,
  type InferRequestBytes,
} from './fast-check.js';
export {
  ANSWER_TTL_SECONDS,
  type AnswerChannel,
  answerKey,
  backlogKey,
  CLAIM_TTL_SECONDS,
  COMPLETED_JOB_AGE_SECONDS,
  checkRedisPrefix,
  claimKey,
  DEFAULT_MAX_WAITING_BYTES,
  DEFAULT_MAX_WAITING_JOBS,
  DEFAULT_REDIS_PREFIX,
  decisionsKey,
  epochKey,
  FAILED_JOB_AGE_SECONDS,
  incomingKey,
  JOB_TTL_SECONDS,
  keptAnswer,
  QUEUE_EVENTS_MAX_LEN,
  readKeptAnswer,
  redisPrefixProblem,
  SCHEDULER_TAG,
  sweptQueuesKey,
  type TailJobData,
  tailJobId,
  ueOfQueue,
  ueQueueName,
  ueTag,
} from './jobs.js';
export {
  isMessageKind,
  MESSAGE_KINDS,
  MESSAGE_QOS,
  type Message,
  type MessageKind,
  type MessageMap,
  messageKindOf,
  messageSchemas,
  RETAINED,
  validateMessage,
} from './messages.js';
export {
  batchSchema,
  byteCount,
  ID_PATTERN,
  idSchema,
  MAX_BATCH,
  MAX_CUTS,
  MAX_UNITS,
  nameSchema,
  nonNegativeInt,
  nonNegativeMs,
  PROTOCOL_VERSION,
  positiveMbps,
  presenceSchema,
  protocolVersionSchema,
  STATUS_EXPIRY_MS,
  STATUS_REFRESH_MS,
  solverNameSchema,
  timestampMs,
  unitsSchema,
} from './schemas/common.js';
export { type Cut, cutListSchema, cutSchema } from './schemas/cuts.js';
export { type Decision, decisionSchema } from './schemas/decision.js';
export {
  EDGE_ANNOUNCE_MS,
  EDGE_STATUS_EXPIRY_MS,
  type EdgeModel,
  type EdgeStatus,
  edgeModelSchema,
  edgeMsListSchema,
  edgeStatusSchema,
  MAX_EDGE_MODELS,
} from './schemas/edge-status.js';
export {
  type ErrorReport,
  type ErrorReportContext,
  errorReportFrom,
  errorReportSchema,
  MAX_ERROR_ISSUE,
  MAX_ERROR_ISSUES,
  MAX_ERROR_MESSAGE,
} from './schemas/error-report.js';
export { type InferRequest, inferRequestSchema } from './schemas/infer-request.js';
export {
  type InferResult,
  type InferTimings,
  inferResultSchema,
  inferTimingsSchema,
} from './schemas/infer-result.js';
export {
  type LinkEstimate,
  type LinkSource,
  linkEstimateSchema,
  linkSamplesSchema,
  linkSourceSchema,
} from './schemas/link.js';
export {
  type Profile,
  type ProfileCut,
  profileCutListSchema,
  profileCutSchema,
  profileSchema,
} from './schemas/profile.js';
export { type SchedulerStatus, schedulerStatusSchema } from './schemas/scheduler-status.js';
export {
  elementCount,
  float32Bytes,
  float32FromBytes,
  MAX_TENSOR_DIM,
  MAX_TENSOR_DIMS,
  type Tensor,
  tensorSchema,
} from './schemas/tensor.js';
export {
  MAX_STATS_WINDOW_MS,
  STATS_INTERVAL_MS,
  type UeStats,
  ueStatsSchema,
} from './schemas/ue-stats.js';
export { type UeStatus, ueStatusSchema } from './schemas/ue-status.js';
export {
  allTopicsFilter,
  assertTopicPrefix,
  DEFAULT_TOPIC_PREFIX,
  edgeStatusFilter,
  edgeStatusTopic,
  formatTopic,
  isUeChannel,
  isValidId,
  MAX_PROBE_BYTES,
  type ParsedTopic,
  PROBE_CHANNEL,
  parseTopic,
  probeTopicUe,
  schedulerStatusTopic,
  type TopicParseResult,
  tryParseTopic,
  UE_CHANNELS,
  type UeChannel,
  ueChannelFilter,
  ueProbeTopic,
  ueSubtreeFilter,
  ueTopic,
} from './topics.js';
export { formatPath, issuesOf, type Validated, validate } from './validate.js';
