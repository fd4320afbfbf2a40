/** The environment `edgesplit broker` reads, its help text, and a flag's value from it. */
import { DEFAULT_LOGIN_LIMITS, type LoginLimits, ROLES } from '../../broker/index.js';
import { DEFAULT_REDIS_PREFIX, DEFAULT_TOPIC_PREFIX } from '../../proto/index.js';
import { ENV } from '../../runtime/env.js';
import { parseEnv } from '../options.js';
import { QUEUE_BOUNDS_HELP } from './queue-bounds-env.js';

/** Environment variables of `edgesplit broker`, besides runtime/env.ts's `ENV`. */
export const BROKER_ENV = {
  port: 'MQTT_PORT',
  host: 'MQTT_HOST',
  wsPort: 'MQTT_WS_PORT',
  tlsKey: 'MQTT_TLS_KEY',
  tlsCert: 'MQTT_TLS_CERT',
  credentials: 'EDGESPLIT_CREDENTIALS',
  /** `off` is the same as --no-auth. */
  auth: 'EDGESPLIT_AUTH',
  /** `username:role:token` or `username:ue:UE:token`, comma-separated. */
  tokens: 'EDGESPLIT_TOKENS',
  maxPayload: 'EDGESPLIT_MAX_PAYLOAD',
  connectTimeout: 'EDGESPLIT_CONNECT_TIMEOUT_MS',
  maxPendingPerAddress: 'EDGESPLIT_MAX_PENDING_PER_ADDRESS',
  maxConnectBytes: 'EDGESPLIT_MAX_CONNECT_BYTES',
  packetTimeout: 'EDGESPLIT_PACKET_TIMEOUT_MS',
} as const;

/** Environment variables of the login limits (docs/security.md), one per limit. */
export const LOGIN_ENV: Readonly<Record<keyof LoginLimits, string>> = {
  freeFailures: 'EDGESPLIT_LOGIN_FREE_FAILURES',
  backoffMs: 'EDGESPLIT_LOGIN_BACKOFF_MS',
  maxBackoffMs: 'EDGESPLIT_LOGIN_MAX_BACKOFF_MS',
  forgetMs: 'EDGESPLIT_LOGIN_FORGET_MS',
  maxTracked: 'EDGESPLIT_LOGIN_MAX_TRACKED',
  trustMs: 'EDGESPLIT_LOGIN_TRUST_MS',
  maxTrusted: 'EDGESPLIT_LOGIN_MAX_TRUSTED',
  maxPerAddress: 'EDGESPLIT_LOGIN_MAX_PER_ADDRESS',
  maxHashing: 'EDGESPLIT_LOGIN_MAX_HASHING',
  maxQueuedHashes: 'EDGESPLIT_LOGIN_MAX_QUEUED_HASHES',
};

const loginEnvHelp = (Object.keys(LOGIN_ENV) as (keyof LoginLimits)[])
  .map((limit) => `  ${LOGIN_ENV[limit]} (${DEFAULT_LOGIN_LIMITS[limit]})`)
  .join('\n');

export const ENV_HELP = `
Environment (flags win):
  ${BROKER_ENV.port}, ${BROKER_ENV.host}, ${BROKER_ENV.wsPort}, ${BROKER_ENV.tlsKey}, ${BROKER_ENV.tlsCert}
  ${BROKER_ENV.credentials}    credentials file (see "broker add-user")
  ${BROKER_ENV.tokens}         token credentials: "username:role:token" or "username:ue:UE:token",
                           comma-separated; the token is the MQTT password (>= 16 characters)
  ${ENV.ueFleetKey}  fleet key (>= 32 characters): a UE id that no credential assigns logs
                           in as itself with the key derived from it ("broker ue-key --ue ID")
  ${ENV.ueKeyRevoked} revoked derived keys, comma-separated: "UE" (all of its keys) or
                           "UE:N" (generations 1 to N; its key is then generation N + 1)
  ${BROKER_ENV.auth}=off       same as --no-auth
  ${BROKER_ENV.maxPayload}    same as --max-payload
  ${BROKER_ENV.connectTimeout}, ${BROKER_ENV.maxPendingPerAddress},
  ${BROKER_ENV.maxConnectBytes}, ${BROKER_ENV.packetTimeout}
                           same as --connect-timeout, --max-pending-per-address,
                           --max-connect-bytes, --packet-timeout
  ${ENV.redisUrl} (redis://127.0.0.1:6379; redis+cluster://host:port,... for a cluster), ${ENV.redisPrefix} (${DEFAULT_REDIS_PREFIX}), ${ENV.topicPrefix} (${DEFAULT_TOPIC_PREFIX})
  ${QUEUE_BOUNDS_HELP}
  ${ENV.claimDir}      a tmpfs directory for the ingress's tensors instead of Redis values,
                           read by edge workers on this host (docs/scale-out.md)
Login throttling and hashing limits (defaults; see docs/security.md):
${loginEnvHelp}
Roles: ${ROLES.join(', ')}.`;

/** A flag's value, else its environment variable's (parsed alike), else undefined. */
export function fromEnv<T>(
  flag: T | undefined,
  name: string,
  parse: (text: string) => T,
): T | undefined {
  return flag !== undefined ? flag : parseEnv(name, parse);
}
