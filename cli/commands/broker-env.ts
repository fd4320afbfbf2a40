/** The environment `edgesplit broker` reads, and its help text. */
import { ROLES } from '../../broker/index.js';
import { DEFAULT_REDIS_PREFIX, DEFAULT_TOPIC_PREFIX, ENV } from '../../proto/index.js';
import { QUEUE_BOUNDS_HELP } from './queue-bounds-env.js';

/** Environment variables of `edgesplit broker`, besides proto's `ENV`. */
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
} as const;

export const ENV_HELP = `
Environment (flags win):
  ${BROKER_ENV.port}, ${BROKER_ENV.host}, ${BROKER_ENV.wsPort}, ${BROKER_ENV.tlsKey}, ${BROKER_ENV.tlsCert}
  ${BROKER_ENV.credentials}    credentials file (see "broker add-user")
  ${BROKER_ENV.tokens}         token credentials: "username:role:token" or "username:ue:UE:token",
                           comma-separated; the token is the MQTT password (>= 16 characters)
  ${ENV.ueFleetKey}  fleet key (>= 32 characters): any UE id logs in as itself with the
                           key derived from it (print one with "broker ue-key --ue ID")
  ${BROKER_ENV.auth}=off       same as --no-auth
  ${BROKER_ENV.maxPayload}    same as --max-payload
  ${ENV.redisUrl} (redis://127.0.0.1:6379), ${ENV.redisPrefix} (${DEFAULT_REDIS_PREFIX}), ${ENV.topicPrefix} (${DEFAULT_TOPIC_PREFIX})
  ${QUEUE_BOUNDS_HELP}
Roles: ${ROLES.join(', ')}.`;
