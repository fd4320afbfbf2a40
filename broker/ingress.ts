/**
 * The ingress as an MQTT client (role `ingress`) of any broker: it subscribes to
 * `ue/+/decision` (the UEs' units) and `ue/+/infer`, and hands each request to the intake
 * (infer-intake.ts). It acknowledges a request (its own PUBACK to the broker) only once the job
 * is stored or the UE has been sent an error, so a request the ingress took but did not finish
 * when it died is delivered again by the broker from its persistent session. An embedded broker
 * can host it without the client (embedded-ingress.ts).
 */
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  connectMqtt,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  logText,
  MESSAGE_QOS,
  ueChannelFilter,
} from '../proto/index.js';
import { type Ingress, type IntakeOptions, openInferIntake } from './infer-intake.js';
import { type Logger, stderrLogger } from './log.js';

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
   * requests published while it was away; two ingress processes need different ids.
   * @defaultValue 'edgesplit-ingress'
   */
  clientId?: string;
  /**
   * Extra mqtt.js options (e.g. `ca` or `rejectUnauthorized` for `mqtts://`).
   * @defaultValue none
   */
  mqttOptions?: IClientOptions;
  /** @defaultValue timestamped lines on stderr */
  logger?: Logger;
}

/** Connects to the broker and Redis and starts turning requests into jobs. */
export async function startIngress(options: IngressOptions): Promise<Ingress> {
  const logger = options.logger ?? stderrLogger('ingress');
  let mqtt: MqttClient | undefined;
  const intake = openInferIntake(
    options,
    (topic, payload) =>
      mqtt?.publish(topic, payload, { qos: MESSAGE_QOS }, (e) => {
        if (e) logger.warn(`publishing to ${logText(topic)}: ${e.message}`);
      }),
    logger,
  );

  // mqtt.js sends the PUBACK of a QoS 1 message once handleMessage calls back, and handles the
  // next packet only after that: requests are stored one at a time, each acknowledged once
  // stored (or answered with an error), and the rest wait in the broker's session.
  const decisionFilter = ueChannelFilter(options.topicPrefix ?? DEFAULT_TOPIC_PREFIX, 'decision');
  const setup = (client: MqttClient) => {
    mqtt = client;
    client.handleMessage = (packet, callback) => {
      const payload = Buffer.isBuffer(packet.payload)
        ? packet.payload
        : Buffer.from(packet.payload);
      if (!packet.topic.endsWith('/infer')) {
        intake.decision(packet.topic, payload);
        callback();
        return;
      }
      void intake.take(packet.topic, payload).then(() => callback());
    };
    client.on('error', (error) => logger.error(`mqtt: ${error.message}`));
    client.on('offline', () => logger.warn('mqtt: disconnected from the broker, reconnecting'));
  };

  try {
    mqtt = await connectMqtt(
      {
        ...options.mqttOptions,
        url: options.mqttUrl,
        clientId: options.clientId ?? 'edgesplit-ingress',
        clean: false,
        protocolVersion: 4,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.password === undefined ? {} : { password: options.password }),
      },
      setup,
    );
  } catch (error) {
    await intake.close();
    throw error;
  }

  const filter = ueChannelFilter(options.topicPrefix ?? DEFAULT_TOPIC_PREFIX, 'infer');
  try {
    // mqtt.js fails the call when the SUBACK refuses the filter (0x80). Decisions first: their
    // retained messages arrive before the requests that follow the second SUBACK.
    await mqtt.subscribeAsync(decisionFilter, { qos: MESSAGE_QOS });
    await mqtt.subscribeAsync(filter, { qos: MESSAGE_QOS });
  } catch (cause) {
    await mqtt.endAsync(true);
    await intake.close();
    const hint = 'does this credential have the ingress role?';
    throw new Error(
      `the broker refused the subscription to ${decisionFilter} or ${filter}: ${hint}`,
      {
        cause,
      },
    );
  }
  const prefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  logger.info(`ingress subscribed to ${filter}, enqueueing to Redis prefix "${prefix}"`);

  const connected = mqtt;
  let closing: Promise<void> | undefined;
  const close = async () => {
    await connected.endAsync();
    await intake.close();
  };
  return {
    close: () => {
      closing ??= close();
      return closing;
    },
    stats: () => intake.stats(),
  };
}
