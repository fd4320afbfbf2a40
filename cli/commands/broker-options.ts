/**
 * `edgesplit broker`'s options: each flag, else its environment variable (broker-env.ts), else
 * the default, checked and merged into the broker's options.
 */
import {
  type BrokerOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_CONNECT_BYTES,
  DEFAULT_MAX_PENDING_PER_ADDRESS,
  DEFAULT_PACKET_TIMEOUT_MS,
  type LoginLimits,
  resolveLoginLimits,
  type TokenRecord,
} from '../../broker/index.js';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  OptionError,
} from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';
import { ENV, envValue } from '../../runtime/env.js';
import { parseUeKeyRevocations } from '../../runtime/ue-key.js';
import type { LogFlags } from '../log-options.js';
import type { MetricsFlags } from '../metrics-options.js';
import { parseBytes, parseInteger, parseMs, parsePort } from '../options.js';
import { BROKER_ENV, fromEnv, LOGIN_ENV } from './broker-env.js';
import { tlsFromFlags } from './broker-tls.js';

export interface BrokerFlags extends LogFlags, MetricsFlags {
  readonly port?: number;
  readonly host?: string;
  readonly wsPort?: number;
  readonly tlsKey?: string;
  readonly tlsCert?: string;
  readonly credentials?: string;
  readonly auth: boolean;
  readonly maxPayload?: number;
  readonly connectTimeout?: number;
  readonly maxPendingPerAddress?: number;
  readonly maxConnectBytes?: number;
  readonly packetTimeout?: number;
  readonly ingress: boolean;
  readonly retainedStore: boolean;
}

/** The login limits set in the environment, checked together with the defaults. */
function loginLimitsFromEnv(): Partial<LoginLimits> {
  const limits: Partial<Record<keyof LoginLimits, number>> = {};
  for (const limit of Object.keys(LOGIN_ENV) as (keyof LoginLimits)[]) {
    const value = fromEnv(undefined, LOGIN_ENV[limit], parseInteger);
    if (value !== undefined) limits[limit] = value;
  }
  try {
    resolveLoginLimits(limits);
  } catch (error) {
    // Name the variables, not the option names the message uses.
    const names = LOGIN_ENV as Readonly<Record<string, string>>;
    const message = asError(error).message;
    throw new OptionError(
      message.replace(/\b\w+\b/g, (word) => names[word] ?? word),
      { cause: error },
    );
  }
  return limits;
}

export async function brokerOptions(
  flags: BrokerFlags,
  tokens: TokenRecord[],
): Promise<BrokerOptions> {
  const tls = await tlsFromFlags(flags);
  const wsPort = fromEnv(flags.wsPort, BROKER_ENV.wsPort, parsePort);
  const credentialsFile = fromEnv(flags.credentials, BROKER_ENV.credentials, String);
  const authOff = !flags.auth || envValue(BROKER_ENV.auth) === 'off';
  const ueFleetKey = envValue(ENV.ueFleetKey);
  const ueKeyRevocations = fromEnv(undefined, ENV.ueKeyRevoked, parseUeKeyRevocations);
  if (!authOff && credentialsFile === undefined && tokens.length === 0 && ueFleetKey === undefined)
    throw new OptionError(
      `no credentials: pass --credentials FILE or set ${BROKER_ENV.tokens} or ${ENV.ueFleetKey}, or run with --no-auth`,
    );
  return {
    port: fromEnv(flags.port, BROKER_ENV.port, parsePort) ?? 1883,
    host: fromEnv(flags.host, BROKER_ENV.host, String) ?? '0.0.0.0',
    auth: authOff
      ? 'off'
      : {
          tokens,
          ...(credentialsFile === undefined ? {} : { credentialsFile }),
          ...(ueFleetKey === undefined ? {} : { ueFleetKey }),
          ...(ueKeyRevocations === undefined ? {} : { ueKeyRevocations }),
        },
    loginLimits: loginLimitsFromEnv(),
    maxPayloadBytes:
      fromEnv(flags.maxPayload, BROKER_ENV.maxPayload, parseBytes) ?? DEFAULT_MAX_PAYLOAD_BYTES,
    connectTimeoutMs:
      fromEnv(flags.connectTimeout, BROKER_ENV.connectTimeout, parseMs) ??
      DEFAULT_CONNECT_TIMEOUT_MS,
    maxPendingPerAddress:
      fromEnv(flags.maxPendingPerAddress, BROKER_ENV.maxPendingPerAddress, parseInteger) ??
      DEFAULT_MAX_PENDING_PER_ADDRESS,
    maxConnectBytes:
      fromEnv(flags.maxConnectBytes, BROKER_ENV.maxConnectBytes, parseBytes) ??
      DEFAULT_MAX_CONNECT_BYTES,
    packetTimeoutMs:
      fromEnv(flags.packetTimeout, BROKER_ENV.packetTimeout, parseMs) ?? DEFAULT_PACKET_TIMEOUT_MS,
    topicPrefix: envValue(ENV.topicPrefix) ?? DEFAULT_TOPIC_PREFIX,
    ...(flags.retainedStore
      ? {
          retainedStore: {
            redisUrl: envValue(ENV.redisUrl) ?? 'redis://127.0.0.1:6379',
            redisPrefix: envValue(ENV.redisPrefix) ?? DEFAULT_REDIS_PREFIX,
          },
        }
      : {}),
    ...(wsPort === undefined ? {} : { wsPort }),
    ...(tls === undefined ? {} : { tls }),
  };
}
