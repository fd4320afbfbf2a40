/**
 * The ingress as an MQTT client (role `ingress`) of any broker: it reads the retained
 * `ue/+/decision` messages (the UEs' units) on a connection without session, then subscribes
 * to `ue/+/infer` on its request connections, and hands each request to the intake
 * (infer-intake.ts). It acknowledges a request (its own PUBACK to the broker) only once the job
 * is stored or the UE has been sent an error, so a request the ingress took but did not finish
 * when it died is delivered again by the broker from the connection's persistent session. An
 * embedded broker can host it without the client (embedded-ingress.ts).
 *
 * Each connection stores several requests at once, acknowledging each once it is stored, in
 * the order they came (ingress-acks.ts; mqtt.js alone would read a connection's next message
 * only after the PUBACK of the one before). The ingress opens several connections
 * (`connections`), each with a persistent session and a stable id, in a shared-subscription
 * group private to it (`$share/{clientId}/...`: Mosquitto 1.6+, EMQX); a broker without them
 * (aedes) gets one connection.
 *
 * With a `group`, several ingresses share the requests through that group
 * (`$share/{group}/{prefix}/ue/+/infer`): the broker gives each request to one connection of
 * one member. Members use clean sessions, since a broker keeps routing requests to a
 * disconnected member's persistent session; what a killed member held unacknowledged is lost
 * with its sessions, and the UE's resend (same request id) reaches a live member
 * (docs/scale-out.md).
 */
import { randomBytes } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  isValidId,
  MESSAGE_QOS,
  ueChannelFilter,
} from '../proto/index.js';
import { logText } from '../runtime/log-text.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { resubscribeOnResume } from '../runtime/session-resubscribe.js';
import { openInferIntake } from './infer-intake.js';
import { IngressAcks } from './ingress-acks.js';
import {
  connectionId,
  DEFAULT_INGRESS_CONNECTIONS,
  drainStaleSessions,
  MAX_INGRESS_CONNECTIONS,
} from './ingress-sessions.js';
import type { Ingress } from './intake-api.js';
import type { IntakeOptions } from './intake-options.js';
import { componentLogger, type Logger } from './log.js';

export { DEFAULT_INGRESS_CONNECTIONS, MAX_INGRESS_CONNECTIONS } from './ingress-sessions.js';

/** Options of `startIngress`. */
export interface IngressOptions extends IntakeOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883` (`MQTT_URL`). */
  mqttUrl: string;
  /** @defaultValue none (anonymous) */
  username?: string;
  /** @defaultValue none */
  password?: string;
  /**
   * MQTT client id of the first request connection; the others append `-1`, `-2`, ... and the
   * one that reads decisions `-decisions`. Without a group the sessions are persistent
   * (`clean: false`), so a restarted ingress gets the requests published while it was away and
   * those it had not finished; two ingress processes need different ids.
   * @defaultValue 'edgesplit-ingress'
   */
  clientId?: string;
  /**
   * Shared-subscription group (`$share/{group}/...`): ingresses of one group split the requests.
   * The session is then clean, and the default client id gets a random suffix, so that many
   * ingresses started alike do not take each other's place. 1-64 characters of [A-Za-z0-9._-].
   * @defaultValue none (one ingress takes every request, on a persistent session)
   */
  group?: string;
  /**
   * Extra mqtt.js options (e.g. `ca` or `rejectUnauthorized` for `mqtts://`).
   * @defaultValue none
   */
  mqttOptions?: IClientOptions;
  /**
   * Request connections, each with a session of its own (`{clientId}`, `{clientId}-1`, ...),
   * all in one shared-subscription group (the `group`, else one private to this ingress,
   * `$share/{clientId}/...`): the broker spreads the requests over them, and each stores up to 16 at
   * a time. A broker without shared subscriptions (aedes) gets one connection, subscribed to
   * the filter itself, without a group. 1-16.
   * @defaultValue 8 (`DEFAULT_INGRESS_CONNECTIONS`)
   */
  connections?: number;
  /** @defaultValue timestamped lines on stderr */
  logger?: Logger;
}

/** Retained decisions are read until none arrived for this long, ms (at most 20 times it). */
const DECISIONS_QUIET_MS = 100;

/** Resolves once `lastAt()` is `quietMs` in the past, or after 20 × `quietMs` at most. */
async function quietFor(lastAt: () => number, quietMs: number): Promise<void> {
  const deadline = performance.now() + 20 * quietMs;
  for (;;) {
    const now = performance.now();
    const silentFor = now - lastAt();
    if (silentFor >= quietMs || now >= deadline) return;
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(quietMs - silentFor, deadline - now)),
    );
  }
}

/** Connects to the broker and Redis and starts turning requests into jobs. */
export async function startIngress(options: IngressOptions): Promise<Ingress> {
  const logger = options.logger ?? componentLogger('ingress');
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const group = options.group;
  if (group !== undefined && !isValidId(group))
    throw new RangeError('the ingress group must be 1-64 characters of [A-Za-z0-9._-]');
  const clientId =
    options.clientId ??
    (group === undefined
      ? 'edgesplit-ingress'
      : `edgesplit-ingress-${group.slice(0, 32)}-${randomBytes(4).toString('hex')}`);
  let mqtt: MqttClient | undefined;
  const acks = new IngressAcks();
  const intake = openInferIntake(
    options,
    (topic, payload) =>
      mqtt?.publish(topic, payload, { qos: MESSAGE_QOS }, (e) => {
        if (e) logger.warn(`publishing to ${logText(topic)}: ${e.message}`);
      }),
    logger,
  );
  const common = {
    ...options.mqttOptions,
    url: options.mqttUrl,
    protocolVersion: 4 as const,
    ...(options.username === undefined ? {} : { username: options.username }),
    ...(options.password === undefined ? {} : { password: options.password }),
  };
  const opened: MqttClient[] = [];
  const fail = async (error: unknown): Promise<never> => {
    await acks.close();
    await Promise.all(opened.map((client) => client.endAsync(true)));
    await intake.close();
    throw error;
  };
  const refused = (filter: string, cause: unknown) =>
    new Error(
      filter.startsWith('$share/')
        ? `the broker refused the shared subscription ${filter}: it may not support shared ` +
            'subscriptions (the embedded aedes broker of "edgesplit broker" does not; Mosquitto ' +
            '1.6+ and EMQX do), or this credential lacks the ingress role'
        : `the broker refused the subscription to ${filter}: does this credential have the ingress role?`,
      { cause },
    );

  // The UEs' units come first, on a connection of their own (no session): a persistent session
  // delivers the requests it kept right behind its CONNACK, and they should find the retained
  // decisions already read.
  let lastDecisionAt = performance.now();
  const decisionFilter = ueChannelFilter(topicPrefix, 'decision');
  // Profiles too: a request for a sample beyond the UE's batch is refused.
  const profileFilter = ueChannelFilter(topicPrefix, 'profile');
  try {
    const decisions = await connectMqtt(
      { ...common, clientId: `${clientId}-decisions`, clean: true },
      (client) => {
        client.on('message', (topic, payload) => {
          lastDecisionAt = performance.now();
          intake.observe(topic, payload);
        });
        client.on('error', (error) => logger.error(`mqtt (decisions): ${error.message}`));
      },
    );
    opened.push(decisions);
    try {
      // mqtt.js fails the call when the SUBACK refuses the filter (0x80).
      await decisions.subscribeAsync(decisionFilter, { qos: MESSAGE_QOS });
    } catch (cause) {
      throw refused(decisionFilter, cause);
    }
    try {
      await decisions.subscribeAsync(profileFilter, { qos: MESSAGE_QOS });
    } catch (cause) {
      throw refused(profileFilter, cause);
    }
    lastDecisionAt = performance.now();
    await quietFor(() => lastDecisionAt, DECISIONS_QUIET_MS);
  } catch (error) {
    return fail(error);
  }

  // Each connection stores several requests at once and acknowledges each once it is stored
  // (or answered with an error), in order; beyond the bounds a connection is not read from and
  // the rest wait in the broker's session (ingress-acks.ts). Several connections in one share
  // group spread the requests over more sockets.
  const setup = (client: MqttClient) => {
    const unacknowledged = acks.attach(client, intake.take);
    client.on('error', (error) =>
      logger.error(`mqtt (${client.options.clientId}): ${error.message}`),
    );
    client.on('offline', () =>
      logger.warn(`mqtt (${client.options.clientId}): disconnected from the broker, reconnecting`),
    );
    return unacknowledged;
  };
  // A broker may resume a session without its shared subscription (session-resubscribe.ts).
  const keepSubscribed = (client: MqttClient, filter: string) =>
    resubscribeOnResume(
      client,
      filter,
      MESSAGE_QOS,
      (error) => logger.error(`mqtt (${client.options.clientId}): ${error.message}`),
      () =>
        logger.info(
          `mqtt (${client.options.clientId}): session resumed, subscribed to ${filter} again`,
        ),
    );
  const inferFilter = ueChannelFilter(topicPrefix, 'infer');
  // Without a group the share group is private to this ingress (its client id): its connections
  // split the requests among themselves.
  const shareFilter = `$share/${group ?? clientId}/${inferFilter}`;
  // A member of a group has clean sessions: a persistent one would keep receiving its share of
  // the requests while its ingress is dead, and hold them until it came back. A lone ingress
  // restarts with the same ids, so each persistent session gets back what it held.
  const clean = group !== undefined;
  const requested = options.connections ?? DEFAULT_INGRESS_CONNECTIONS;
  if (!Number.isSafeInteger(requested) || requested < 1 || requested > MAX_INGRESS_CONNECTIONS)
    return fail(
      new RangeError(
        `the ingress connections must be 1-${MAX_INGRESS_CONNECTIONS}, not ${requested}`,
      ),
    );
  let filter = shareFilter;
  let connections = requested;
  try {
    const first = await connectMqtt(
      { ...common, clientId: connectionId(clientId, 0), clean },
      setup,
    );
    opened.push(first);
    mqtt = first;
    try {
      await first.subscribeAsync(shareFilter, { qos: MESSAGE_QOS });
    } catch (cause) {
      if (group !== undefined) throw refused(shareFilter, cause);
      // A broker without shared subscriptions (aedes): one connection takes every request.
      filter = inferFilter;
      connections = 1;
      try {
        await first.subscribeAsync(inferFilter, { qos: MESSAGE_QOS });
      } catch (plainCause) {
        throw refused(inferFilter, plainCause);
      }
      logger.warn(
        `the broker refused the shared subscription ${shareFilter}: one connection stores up to ` +
          '16 requests at a time (Mosquitto 1.6+ and EMQX take shared subscriptions)',
      );
    }
    if (filter === shareFilter && group === undefined)
      // An earlier version subscribed this session to the filter itself: that subscription
      // would deliver every request to this connection once more.
      await first.unsubscribeAsync(inferFilter);
    keepSubscribed(first, filter);
    const others = await Promise.allSettled(
      Array.from({ length: connections - 1 }, async (_, index) => {
        const client = await connectMqtt(
          { ...common, clientId: connectionId(clientId, index + 1), clean },
          setup,
        );
        opened.push(client);
        try {
          await client.subscribeAsync(shareFilter, { qos: MESSAGE_QOS });
        } catch (cause) {
          throw refused(shareFilter, cause);
        }
        keepSubscribed(client, shareFilter);
      }),
    );
    for (const other of others) if (other.status === 'rejected') throw other.reason;
    if (filter === shareFilter && group === undefined) {
      const drained = await drainStaleSessions(
        { ...common },
        clientId,
        connections,
        shareFilter,
        setup,
      );
      if (drained > 0)
        logger.info(
          `ingress ${clientId}: closed ${drained} sessions of an earlier run with more connections`,
        );
    }
  } catch (error) {
    return fail(error);
  }
  const prefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  logger.info(
    `ingress ${clientId} subscribed to ${filter} on ${connections} connection` +
      `${connections === 1 ? '' : 's'}, enqueueing to Redis prefix "${prefix}"`,
  );

  let closing: Promise<void> | undefined;
  const close = async () => {
    await acks.close();
    await Promise.all(opened.map((client) => client.endAsync()));
    await intake.close();
  };
  return {
    close: () => {
      closing ??= close();
      return closing;
    },
    stats: () => intake.stats(),
    connected: () => ({
      mqtt: opened.every((client) => client.connected),
      redis: intake.redisConnected(),
    }),
  };
}
