/** The embedded MQTT broker: aedes with authentication, ACLs and a payload limit. */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes } from 'aedes';
import {
  assertTopicPrefix,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_TOPIC_PREFIX,
} from '../proto/index.js';
import { accessControl, remoteOf } from './access-control.js';
import { Authenticator } from './authenticator.js';
import { readCredentialsFile, type TokenRecord, type UserRecord } from './credentials.js';
import { CredentialsError } from './errors.js';
import { guardFrames, type OversizeFrame } from './frame-guard.js';
import { Interceptors, type PublishInterceptor } from './interceptors.js';
import { type Listener, listenMqtt, listenWebSocket, type TlsMaterial } from './listeners.js';
import {
  type Logger,
  type RefusalCounts,
  type RefusalKind,
  RefusalLog,
  stderrLogger,
} from './log.js';
import { type RetainedStoreOptions, redisRetainedStore } from './retained-store.js';

/** Where identities come from; at least one source is required. */
export interface BrokerAuthOptions {
  /**
   * Path of a credentials file: `{ "users": [{ username, role, ue?, passwordHash }] }`, hashes
   * made by `hashPassword` (`edgesplit broker hash-password`). Read once at start.
   * @defaultValue none
   */
  credentialsFile?: string;
  /**
   * Token credentials, usually `parseTokens(process.env.EDGESPLIT_TOKENS)`.
   * @defaultValue none
   */
  tokens?: readonly TokenRecord[];
  /**
   * Fleet key (`EDGESPLIT_UE_FLEET_KEY`): any UE id logs in as that UE with the key derived from
   * it (`deriveUeKey`). Usernames in the file or tokens keep their own secret.
   * @defaultValue none
   */
  ueFleetKey?: string;
}

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

/** Counters since the broker started. */
export interface BrokerStats {
  /** Clients connected now. */
  readonly clients: number;
  /** Connections accepted on all listeners. */
  readonly connections: number;
  /** Refused connects, publishes, subscribes (and deliveries stopped at the last moment). */
  readonly refused: RefusalCounts;
}

/** A running broker. */
export interface Broker {
  /** Port of the MQTT (or MQTT/TLS) listener. */
  readonly port: number;
  /** Port of the WebSocket listener, if any. */
  readonly wsPort: number | undefined;
  /** Disconnects every client and closes the listeners; safe to call twice. */
  close(): Promise<void>;
  stats(): BrokerStats;
  /** Publishes from inside the broker (QoS 1, not retained), past the ACLs. */
  publish(topic: string, payload: Buffer): Promise<void>;
  /** Adds an interceptor of client publishes; returns the function that removes it. */
  intercept(interceptor: PublishInterceptor): () => void;
}

/** Largest remaining length MQTT can express [MQTT-2.2.3]. */
const MQTT_MAX_REMAINING = 268_435_455;
/**
 * Room for everything but the payload in one packet: topic, client id, username, password and
 * will topic of a CONNECT are each at most 65,535 bytes plus a length prefix.
 */
const FRAME_HEADROOM = 5 * 65_537 + 16;

function frameKind(frame: OversizeFrame): RefusalKind {
  if (frame.type === 3) return 'publish';
  if (frame.type === 8 || frame.type === 10) return 'subscribe';
  return 'connect';
}

async function loadAuthenticator(auth: BrokerOptions['auth']): Promise<Authenticator | undefined> {
  if (auth === 'off') return undefined;
  const users: UserRecord[] =
    auth.credentialsFile === undefined ? [] : await readCredentialsFile(auth.credentialsFile);
  const authenticator = new Authenticator(users, auth.tokens ?? [], auth.ueFleetKey);
  if (authenticator.size === 0 && auth.ueFleetKey === undefined)
    throw new CredentialsError(
      'authentication is on but no credentials were given: pass a credentials file, tokens or a fleet key, or auth "off"',
    );
  return authenticator;
}

/** Starts the broker; rejects with BrokerListenError (naming the port) if a port is taken. */
export async function createBroker(options: BrokerOptions): Promise<Broker> {
  const host = options.host ?? '0.0.0.0';
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const maxPayloadBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const logger = options.logger ?? stderrLogger('broker');
  assertTopicPrefix(topicPrefix);
  if (!Number.isSafeInteger(maxPayloadBytes) || maxPayloadBytes < 1)
    throw new RangeError(`maxPayloadBytes must be a positive integer, not ${maxPayloadBytes}`);
  const maxFrameBytes = Math.min(maxPayloadBytes + FRAME_HEADROOM, MQTT_MAX_REMAINING);

  const authenticator = await loadAuthenticator(options.auth);
  const refusals = new RefusalLog(logger);
  const access = accessControl({ authenticator, topicPrefix, maxPayloadBytes, refusals });
  const interceptors = new Interceptors(
    {
      perClient: options.maxInterceptedPerClient ?? 16,
      total: options.maxIntercepted ?? 256,
      totalBytes: options.maxInterceptedBytes ?? 256 * 1024 * 1024,
    },
    logger,
  );

  const store =
    options.retainedStore === undefined
      ? undefined
      : redisRetainedStore(options.retainedStore, topicPrefix, logger);
  let aedes: Aedes;
  try {
    aedes = await createAedes(store?.persistence);
  } catch (error) {
    await store?.close();
    throw error;
  }

  async function createAedes(persistence: object | undefined): Promise<Aedes> {
    return Aedes.createBroker({
      ...(persistence === undefined ? {} : { persistence }),
      ...access.hooks,
      // Interceptors run where a publish is authorized: synchronously as aedes parses it, so a
      // client paused here reads nothing more (later hooks run after I/O that reads on).
      authorizePublish: (client, packet, callback) =>
        access.hooks.authorizePublish(client, packet, (error) => {
          // client is null only for a will stored by an earlier broker: not a request.
          if (!error && client !== null) interceptors.run(client, packet.topic, packet.payload);
          callback(error ?? null);
        }),

      // Client ids get the username as a prefix (see access-control.ts); MQTT 3.1's 23-character
      // limit would then refuse ordinary ids.
      maxClientsIdLength: 65_600,
      connectTimeout: 10_000,
    });
  }

  let connections = 0;
  const accept = (stream: Duplex, request?: IncomingMessage) => {
    connections += 1;
    const client = aedes.handle(stream, request);
    guardFrames(stream, maxFrameBytes, (frame) => {
      const remote = remoteOf(client);
      refusals.record({
        kind: frameKind(frame),
        clientId: client.id ?? undefined,
        username: access.identityOf(client)?.username,
        reason:
          frame.length < 0
            ? 'malformed packet length'
            : `packet of ${frame.length} bytes exceeds the limit of ${maxFrameBytes}`,
        ...(remote === undefined ? {} : { remote }),
      });
    });
  };

  const listeners: Listener[] = [];
  const closeAll = async () => {
    await Promise.all(listeners.map((listener) => listener.close()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await store?.close();
  };
  const common = { host, tls: options.tls, logger, accept };
  try {
    listeners.push(await listenMqtt({ ...common, port: options.port ?? 1883 }));
    if (options.wsPort !== undefined)
      listeners.push(
        await listenWebSocket({ ...common, port: options.wsPort, maxMessageBytes: maxFrameBytes }),
      );
  } catch (error) {
    await closeAll();
    throw error;
  }
  const [mqtt, ws] = listeners;

  if (authenticator === undefined)
    logger.warn(
      `AUTHENTICATION IS OFF: any client that reaches ${host}:${mqtt!.port} can connect, ` +
        'publish and subscribe to any topic. Use credentials (--credentials or EDGESPLIT_TOKENS) ' +
        'outside a trusted test machine.',
    );

  let closing: Promise<void> | undefined;
  return {
    port: mqtt!.port,
    wsPort: ws?.port,
    close: () => {
      closing ??= closeAll();
      return closing;
    },
    stats: () => ({ clients: aedes.connectedClients, connections, refused: refusals.counts() }),
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        const packet = {
          cmd: 'publish',
          topic,
          payload,
          qos: 1,
          retain: false,
          dup: false,
        } as const;
        aedes.publish(packet, (error) => (error ? reject(error) : resolve()));
      }),
    intercept: (interceptor) => interceptors.add(interceptor),
  };
}
