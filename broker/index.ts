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
export { Authenticator } from './authenticator.js';
export {
  type Broker,
  type BrokerAuthOptions,
  type BrokerOptions,
  type BrokerStats,
  createBroker,
} from './broker.js';
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
export type {
  Ingress,
  IngressStats,
  IntakeOptions,
} from './infer-intake.js';
export { type InferOutcome, readInferMessage } from './infer-request.js';
export { type IngressOptions, startIngress } from './ingress.js';
export type { PublishInterceptor } from './interceptors.js';
export type { TlsMaterial } from './listeners.js';
export {
  type Logger,
  type Refusal,
  type RefusalCounts,
  type RefusalKind,
  silentLogger,
  stderrLogger,
} from './log.js';
export {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  parsePasswordHash,
  type ScryptParams,
  verifyPassword,
} from './password.js';
export {
  type RetainedStore,
  type RetainedStoreOptions,
  redisRetainedStore,
  retainedKey,
} from './retained-store.js';
