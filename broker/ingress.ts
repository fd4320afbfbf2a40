/**
 * The ingress as an MQTT client (role `ingress`) of any broker: it reads the retained
 * `ue/+/decision` messages (the UEs' units) on a connection without session, then subscribes
 * to `ue/+/infer` on its persistent session, and hands each request to the intake
 * (infer-intake.ts). It acknowledges a request (its own PUBACK to the broker) only once the job
 * is stored or the UE has been sent an error, so a request the ingress took but did not finish
 * when it died is delivered again by the broker from its persistent session. An embedded broker
 * can host it without the client (embedded-ingress.ts).
 *
 * With a `group`, several ingresses share the requests through an MQTT shared subscription
 * (`$share/{group}/{prefix}/ue/+/infer`: Mosquitto 1.6+, EMQX; not aedes): the broker gives each
 * request to one member. Members use clean sessions, since a broker keeps routing requests to a
 * disconnected member's persistent session; what a killed member held unacknowledged is lost
 * with its session, and the UE's resend (same request id) reaches a live member
 * (docs/scale-out.md).
 */
import { randomBytes } from 'node:crypto';
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  connectMqtt,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  isValidId,
  logText,
  MESSAGE_QOS,
  ueChannelFilter,
} from '../proto/index.js';
import { type Ingress, type IntakeOptions, openInferIntake } from './infer-intake.js';
import { componentLogger, type Logger } from './log.js';

/** Options of `startIngress`. */
export interface IngressOptions extends IntakeOptions {
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883` (`MQTT_URL`). */
  mqttUrl: string;
  /** @defaultValue none (anonymous) */
  username?: string;
  /** @defaultValue none */
  password?: string;
  /**
   * MQTT client id. The session is persistent (`clean: false`), so a restarted ingress gets the
   * requests published while it was away; two ingress processes need different ids. The
   * connection that reads decisions uses this id with `-decisions` appended.
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

  // mqtt.js sends the PUBACK of a QoS 1 message once handleMessage calls back, and handles the
  // next packet only after that: requests are stored one at a time, each acknowledged once
  // stored (or answered with an error), and the rest wait in the broker's session.
  const setup = (client: MqttClient) => {
    mqtt = client;
    client.handleMessage = (packet, callback) => {
      const payload = Buffer.isBuffer(packet.payload)
        ? packet.payload
        : Buffer.from(packet.payload);
      void intake.take(packet.topic, payload).then(() => callback());
    };
    client.on('error', (error) => logger.error(`mqtt: ${error.message}`));
    client.on('offline', () => logger.warn('mqtt: disconnected from the broker, reconnecting'));
  };
  const inferFilter = ueChannelFilter(topicPrefix, 'infer');
  const filter = group === undefined ? inferFilter : `$share/${group}/${inferFilter}`;
  let requests: MqttClient;
  try {
    // A member of a group has a clean session: a persistent one would keep receiving its share
    // of the requests while its ingress is dead, and hold them until it came back.
    requests = await connectMqtt({ ...common, clientId, clean: group !== undefined }, setup);
    opened.push(requests);
    try {
      await requests.subscribeAsync(filter, { qos: MESSAGE_QOS });
    } catch (cause) {
      throw refused(filter, cause);
    }
  } catch (error) {
    return fail(error);
  }
  const prefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  logger.info(
    `ingress ${clientId} subscribed to ${filter}, enqueueing to Redis prefix "${prefix}"`,
  );

  let closing: Promise<void> | undefined;
  const close = async () => {
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
