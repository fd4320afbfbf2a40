/** The options of the embedded broker, their defaults and their checks. */
import {
  assertTopicPrefix,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_TOPIC_PREFIX,
  OptionError,
} from '../proto/index.js';
import type { BrokerAuthOptions } from './broker-auth.js';
import type { TlsMaterial } from './listeners.js';
import { componentLogger, type Logger } from './log.js';
import type { LoginLimits } from './login-limits.js';
import type { PublishFlowLimits } from './publish-flow.js';
import type { RetainedStoreOptions } from './retained-store.js';

/** Options of `createBroker`. */
export interface BrokerOptions {
  /**
   * Port of the MQTT listener (TLS when `tls` is given); 0 picks a free port.
   * @defaultValue 1883
   */
  port?: number;
  /**
   * Address every listener binds to.
   * @defaultValue '0.0.0.0'
   */
  host?: string;
  /**
   * PEM key and certificate: the MQTT listener speaks TLS and the WebSocket one `wss://`.
   * @defaultValue none (plain TCP and `ws://`)
   */
  tls?: TlsMaterial;
  /**
   * Port of an MQTT-over-WebSocket listener; 0 picks a free port.
   * @defaultValue none (no WebSocket listener)
   */
  wsPort?: number;
  /**
   * Credentials, or `'off'` to let any client do anything (logged as a warning at start). No
   * default: running without authentication is always a decision.
   */
  auth: 'off' | BrokerAuthOptions;
  /**
   * Login throttling and password hashing limits (docs/security.md); those not given keep
   * their defaults (`DEFAULT_LOGIN_LIMITS`). Unused when auth is off.
   * @defaultValue DEFAULT_LOGIN_LIMITS
   */
  loginLimits?: Partial<LoginLimits>;
  /**
   * Largest PUBLISH payload (and last will) accepted; a bigger one is refused and its
   * connection closed.
   * @defaultValue 16 MiB (`DEFAULT_MAX_PAYLOAD_BYTES`)
   */
  maxPayloadBytes?: number;
  /**
   * Prefix of every topic the ACLs grant.
   * @defaultValue 'edgesplit/v1' (`DEFAULT_TOPIC_PREFIX`)
   */
  topicPrefix?: string;
  /**
   * Most publishes of one client that interceptors (see `Broker.intercept`) handle at once; the
   * broker reads no more from that client until one is done.
   * @defaultValue 16
   */
  maxInterceptedPerClient?: number;
  /**
   * Most publishes that interceptors handle at once in all; beyond it, publishers are not read.
   * @defaultValue 256
   */
  maxIntercepted?: number;
  /**
   * Most payload bytes that interceptors handle at once in all; beyond it, publishers are not
   * read (one publish may exceed it on its own).
   * @defaultValue 256 MiB
   */
  maxInterceptedBytes?: number;
  /**
   * Milliseconds from accepting a TCP connection to its successful login: TLS handshake,
   * WebSocket upgrade, CONNECT and authentication together. Later, the socket is closed.
   * @defaultValue 10,000 (`DEFAULT_CONNECT_TIMEOUT_MS`)
   */
  connectTimeoutMs?: number;
  /**
   * Most connections of one remote address that have not logged in yet; a connection beyond
   * it is closed as soon as it is accepted. 0: no limit.
   * @defaultValue 64 (`DEFAULT_MAX_PENDING_PER_ADDRESS`)
   */
  maxPendingPerAddress?: number;
  /**
   * Most bytes read from a connection before it has authenticated, its CONNECT (with the last
   * will) included; a CONNECT announcing more is refused and the connection closed before the
   * broker buffers it.
   * @defaultValue 64 KiB (`DEFAULT_MAX_CONNECT_BYTES`)
   */
  maxConnectBytes?: number;
  /**
   * Milliseconds a packet may take from its first byte to its last, whatever the client's
   * keepalive; a connection with a packet incomplete for longer is closed. Big payloads over
   * slow links need it long enough.
   * @defaultValue 60,000 (`DEFAULT_PACKET_TIMEOUT_MS`)
   */
  packetTimeoutMs?: number;
  /**
   * Keep the scheduler's retained messages (decisions, `scheduler/status`) in Redis, so that
   * they survive a restart of the broker (retained-store.ts).
   * @defaultValue none: retained messages live in memory only
   */
  retainedStore?: RetainedStoreOptions;
  /**
   * Where log lines go, including one per refused connect, publish or subscribe.
   * @defaultValue timestamped lines on stderr
   */
  logger?: Logger;
}

/** Default of `BrokerOptions.connectTimeoutMs`. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Default of `BrokerOptions.maxPendingPerAddress`. */
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 64;
/** Default of `BrokerOptions.maxConnectBytes`. */
export const DEFAULT_MAX_CONNECT_BYTES = 64 * 1024;
/** Default of `BrokerOptions.packetTimeoutMs`. */
export const DEFAULT_PACKET_TIMEOUT_MS = 60_000;

/** Largest remaining length MQTT can express [MQTT-2.2.3]. */
const MQTT_MAX_REMAINING = 268_435_455;
/**
 * Room for everything but the payload in one packet: topic, client id, username, password and
 * will topic of a CONNECT are each at most 65,535 bytes plus a length prefix.
 */
const FRAME_HEADROOM = 5 * 65_537 + 16;

/** The options `createBroker` works with: defaults filled in, limits checked. */
export interface ResolvedBrokerOptions {
  readonly host: string;
  readonly topicPrefix: string;
  readonly maxPayloadBytes: number;
  readonly logger: Logger;
  /** Largest packet accepted after login: the payload limit plus the room for the rest. */
  readonly maxFrameBytes: number;
  readonly connectTimeoutMs: number;
  /** `maxConnectBytes`: most bytes read before login. */
  readonly maxPreAuthBytes: number;
  readonly packetTimeoutMs: number;
  readonly maxPendingPerAddress: number;
  /** Flow limits of the interceptors. */
  readonly intercepted: PublishFlowLimits;
}

function positiveInteger(name: string, value: number, min = 1): number {
  if (!Number.isSafeInteger(value) || value < min)
    throw new OptionError(`${name} must be an integer >= ${min}, not ${value}`, { option: name });
  return value;
}

/**
 * Fills in the defaults of `options`; throws an `OptionError` naming a bad limit, a
 * `TopicError` for a bad prefix.
 */
export function resolveBrokerOptions(options: BrokerOptions): ResolvedBrokerOptions {
  const host = options.host ?? '0.0.0.0';
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const logger = options.logger ?? componentLogger('broker');
  assertTopicPrefix(topicPrefix);
  if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes < 1)
    throw new OptionError(`maxPayloadBytes must be a positive integer, not ${maxPayloadBytes}`, {
      option: 'maxPayloadBytes',
    });
  return {
    host,
    topicPrefix,
    maxPayloadBytes,
    logger,
    maxFrameBytes: Math.min(maxPayloadBytes + FRAME_HEADROOM, MQTT_MAX_REMAINING),
    connectTimeoutMs: positiveInteger(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    ),
    maxPreAuthBytes: positiveInteger(
      'maxConnectBytes',
      options.maxConnectBytes ?? DEFAULT_MAX_CONNECT_BYTES,
    ),
    packetTimeoutMs: positiveInteger(
      'packetTimeoutMs',
      options.packetTimeoutMs ?? DEFAULT_PACKET_TIMEOUT_MS,
    ),
    maxPendingPerAddress: positiveInteger(
      'maxPendingPerAddress',
      options.maxPendingPerAddress ?? DEFAULT_MAX_PENDING_PER_ADDRESS,
      0,
    ),
    intercepted: {
      perClient: options.maxInterceptedPerClient ?? 16,
      total: options.maxIntercepted ?? 256,
      totalBytes: options.maxInterceptedBytes ?? 256 * 1024 * 1024,
    },
  };
}
