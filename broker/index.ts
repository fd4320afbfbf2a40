/**
 * The embedded MQTT broker (aedes) with authentication, per-role ACLs and a payload limit, and
 * the ingress that turns `infer` messages into BullMQ tail jobs.
 */
export {
  type AccessRules,
  accessRules,
  canPublish,
  canRead,
  canRetain,
  canSubscribe,
  type Identity,
  isRole,
  ROLES,
  type Role,
} from './acl.js';
export {
  AEDES_CHECKED_VERSION,
  AedesInternalsError,
  aedesVersion,
  assertClientInternals,
  checkAedesInternals,
  missingClientInternals,
} from './aedes-internals.js';
export {
  Authenticator,
  type AuthenticatorOptions,
  type AuthOutcome,
} from './authenticator.js';
export { type Broker, type BrokerStats, createBroker } from './broker.js';
export type { BrokerAuthOptions } from './broker-auth.js';
export {
  type BrokerOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_CONNECT_BYTES,
  DEFAULT_MAX_PENDING_PER_ADDRESS,
  DEFAULT_PACKET_TIMEOUT_MS,
} from './broker-options.js';
export {
  MIN_TOKEN_LENGTH,
  parseCredentials,
  parseTokens,
  readCredentialsFile,
  type TokenRecord,
  type UserRecord,
  upsertUser,
} from './credentials.js';
export { attachIngress, type EmbeddedIngressOptions, isInferTopic } from './embedded-ingress.js';
export { BrokerListenError, CredentialsError } from './errors.js';
export { FrameMeter, type OversizeFrame } from './frame-guard.js';
export {
  HashGate,
  HashGateFullError,
  type HashGateLimits,
} from './hash-gate.js';
export { type InferOutcome, readInferMessage } from './infer-request.js';
export {
  DEFAULT_INGRESS_CONNECTIONS,
  type IngressOptions,
  MAX_INGRESS_CONNECTIONS,
  startIngress,
} from './ingress.js';
export type { Ingress, IngressStats } from './intake-api.js';
export type { IntakeOptions } from './intake-options.js';
export type { PublishInterceptor } from './interceptors.js';
export type { TlsMaterial } from './listeners.js';
export {
  componentLogger,
  type Logger,
  type Refusal,
  type RefusalCounts,
  type RefusalKind,
  silentLogger,
} from './log.js';
export { LoginGuard, type LoginOutcome, type LoginStats } from './login-guard.js';
export { DEFAULT_LOGIN_LIMITS, type LoginLimits, resolveLoginLimits } from './login-limits.js';
export { addressKey, LoginThrottle, type ThrottleSizes } from './login-throttle.js';
export {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  parsePasswordHash,
  type ScryptParams,
  verifyPassword,
} from './password.js';
export { protocolProblem } from './protocol-check.js';

export {
  type RetainedStore,
  type RetainedStoreOptions,
  redisRetainedStore,
  retainedKey,
} from './retained-store.js';
