/**
 * The embedded MQTT broker: aedes with authentication, ACLs and a payload limit. This file
 * assembles it: the aedes hooks (protocol check, access control, probes, interceptors), the
 * connection gate and frame guard on every accepted connection, the listeners, and the stats.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import { defined } from '../runtime/defined.js';
import { accessControl, remoteOf } from './access-control.js';
import { checkAedesInternals } from './aedes-internals.js';
import { loadLogins } from './broker-auth.js';
import { type BrokerOptions, resolveBrokerOptions } from './broker-options.js';
import { ConnectionGate, type SocketAddress } from './connection-gate.js';
import { frameRefusal, recordGateRefusal } from './connection-refusals.js';
import { type FrameGuard, guardFrames } from './frame-guard.js';
import { Interceptors, type PublishInterceptor } from './interceptors.js';
import { type Listener, listenMqtt, listenWebSocket } from './listeners.js';
import { type RefusalCounts, RefusalLog } from './log.js';
import type { LoginStats } from './login-guard.js';
import { publishOfflineOnDisconnect } from './presence.js';
import { probeSink } from './probe-sink.js';
import { protocolProblem } from './protocol-check.js';
import { redisRetainedStore } from './retained-store.js';
import { Traffic } from './traffic.js';

/** Counters since the broker started. */
export interface BrokerStats {
  /** Clients connected now. */
  readonly clients: number;
  /** Connections accepted on all listeners. */
  readonly connections: number;
  /** Refused connects, publishes, subscribes (and deliveries stopped at the last moment). */
  readonly refused: RefusalCounts;
  /** Logins accepted, refused, held back, hashes computed; undefined when auth is off. */
  readonly logins: LoginStats | undefined;
  /** Connections accepted but not logged in yet. */
  readonly pendingLogins: number;
  /** Bytes read from and written to client connections (WebSocket: the underlying socket). */
  readonly bytesIn: number;
  readonly bytesOut: number;
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

/** The socket that carries a client: its own for TCP and TLS, the HTTP request's for WebSocket. */
function socketOf(client: Client): SocketAddress {
  const conn = client.conn as SocketAddress;
  return conn.remoteAddress === undefined && client.req !== undefined ? client.req.socket : conn;
}

/** The packet of a publish from inside the broker: QoS 1, not retained (it passes no ACL). */
function internalPacket(topic: string, payload: Buffer) {
  return { cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false } as const;
}

/** Starts the broker; rejects with BrokerListenError (naming the port) if a port is taken. */
export async function createBroker(options: BrokerOptions): Promise<Broker> {
  const {
    host,
    topicPrefix,
    maxPayloadBytes,
    logger,
    maxFrameBytes,
    connectTimeoutMs,
    maxPreAuthBytes,
    packetTimeoutMs,
    maxPendingPerAddress,
    intercepted,
  } = resolveBrokerOptions(options);

  // Flow control needs aedes internals: a changed aedes stops here, not under load.
  await checkAedesInternals();
  const logins = await loadLogins(options.auth, options.loginLimits);
  const refusals = new RefusalLog(logger);
  const access = accessControl({ logins, topicPrefix, maxPayloadBytes, refusals });
  const interceptors = new Interceptors(intercepted, logger);

  const gate = new ConnectionGate(
    { loginTimeoutMs: connectTimeoutMs, maxPendingPerAddress },
    (refusal) => recordGateRefusal(refusals, refusal),
  );
  const guards = new WeakMap<Client, FrameGuard>();

  const store =
    options.retainedStore === undefined
      ? undefined
      : redisRetainedStore(options.retainedStore, topicPrefix, logger);
  // Link probes are acknowledged and delivered to nobody (probe-sink.ts).
  const probes = probeSink(topicPrefix, (topic, payload) =>
    aedes.publish(internalPacket(topic, payload), () => {}),
  );
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
      preConnect: (client, packet, callback) => {
        const problem = protocolProblem(packet);
        if (problem === undefined) {
          access.hooks.preConnect(client, packet, callback);
          return;
        }
        const remote = remoteOf(client);
        refusals.record({
          kind: 'connect',
          clientId: packet.clientId,
          username: packet.username,
          reason: problem,
          ...(remote === undefined ? {} : { remote }),
        });
        // [MQTT-3.1.2-1]: a wrong protocol name may be answered by closing the connection.
        callback(new Error(problem), false);
      },
      // From here on, the client is no longer a login in progress: no login deadline, the full
      // packet limit, and it no longer counts against its address's cap.
      authenticate: (client, username, password, done) =>
        access.hooks.authenticate(client, username, password, (error, success) => {
          if (!error && success) {
            guards.get(client)?.authenticated();
            gate.settle(socketOf(client));
          }
          done(error, success);
        }),
      // Interceptors run where a publish is authorized: synchronously as aedes parses it, so a
      // client paused here reads nothing more (later hooks run after I/O that reads on). aedes
      // writes the PUBACK only after this callback: a request is acknowledged once handled.
      authorizePublish: (client, packet, callback) =>
        access.hooks.authorizePublish(client, packet, (error) => {
          // client is null only for a will stored by an earlier broker: not a request.
          if (error || client === null) callback(error ?? null);
          else if (probes.isProbe(packet.topic)) {
            probes.accept(packet.topic, packet.payload);
            callback(null);
          } else interceptors.run(client, packet.topic, packet.payload, () => callback(null));
        }),
      authorizeForward: (client, packet) =>
        probes.isProbe(packet.topic) ? null : access.hooks.authorizeForward(client, packet),

      // Client ids get the username as a prefix (see access-control.ts); MQTT 3.1's 23-character
      // limit would then refuse ordinary ids.
      maxClientsIdLength: 65_600,
      connectTimeout: connectTimeoutMs,
    });
  }

  publishOfflineOnDisconnect(aedes, topicPrefix, access.identityOf, logger);

  const traffic = new Traffic();
  const accept = (stream: Duplex, request?: IncomingMessage) => {
    traffic.accepted(stream, request);
    const client = aedes.handle(stream, request);
    const limits = { maxFrameBytes, maxPreAuthBytes, packetTimeoutMs };
    const guard = guardFrames(stream, limits, (problem) => {
      const remote = remoteOf(client);
      refusals.record({
        ...frameRefusal(problem),
        clientId: client.id ?? undefined,
        username: access.identityOf(client)?.username,
        ...(remote === undefined ? {} : { remote }),
      });
    });
    guards.set(client, guard);
  };

  const listeners: Listener[] = [];
  const closeAll = async () => {
    gate.clear();
    await Promise.all(listeners.map((listener) => listener.close()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await store?.close();
  };
  const common = { host, tls: options.tls, logger, gate, maxPreAuthBytes, accept };
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
  const mqtt = defined(listeners[0], 'the MQTT listener (opened first)');
  const ws = listeners[1];

  if (logins === undefined)
    logger.warn(
      `AUTHENTICATION IS OFF: any client that reaches ${host}:${mqtt.port} can connect, ` +
        'publish and subscribe to any topic. Use credentials (--credentials or EDGESPLIT_TOKENS) ' +
        'outside a trusted test machine.',
    );

  let closing: Promise<void> | undefined;
  return {
    port: mqtt.port,
    wsPort: ws?.port,
    close: () => {
      closing ??= closeAll();
      return closing;
    },
    stats: () => {
      const { connections, bytesIn, bytesOut } = traffic.counts();
      return {
        clients: aedes.connectedClients,
        connections,
        refused: refusals.counts(),
        logins: logins?.stats(),
        pendingLogins: gate.pending,
        bytesIn,
        bytesOut,
      };
    },
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) =>
        aedes.publish(internalPacket(topic, payload), (error) =>
          error ? reject(error) : resolve(),
        ),
      ),
    intercept: (interceptor) => interceptors.add(interceptor),
  };
}
