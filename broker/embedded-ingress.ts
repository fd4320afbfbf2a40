/**
 * The ingress inside the embedded broker: it takes `ue/{ue}/infer` publishes as the broker
 * accepts them, with no MQTT client in between, so the tensor is neither queued for a
 * subscriber nor copied through a second socket. The broker acknowledges a request (PUBACK)
 * only once its job is stored in Redis or its UE has been sent an error. A UE with requests
 * being stored is not read from until they are (`Broker.intercept`), so a UE that sends faster
 * than Redis stores slows down itself only, and memory stays bounded. The scheduler's
 * `ue/{ue}/decision` publishes go by the same way, for each UE's units.
 */
import { DEFAULT_REDIS_PREFIX, DEFAULT_TOPIC_PREFIX } from '../proto/index.js';
import { logText } from '../runtime/log-text.js';
import type { Broker } from './broker.js';
import { openInferIntake } from './infer-intake.js';
import type { Ingress } from './intake-api.js';
import type { IntakeOptions } from './intake-options.js';
import { componentLogger, type Logger } from './log.js';

/** Options of `attachIngress`. */
export interface EmbeddedIngressOptions extends IntakeOptions {
  /** @defaultValue timestamped lines on stderr */
  logger?: Logger;
}

/** Whether `topic` matches the filter `{prefix}/ue/+/{channel}`. */
function isUeChannelTopic(prefix: string, topic: string, channel: string): boolean {
  const head = `${prefix}/ue/`;
  const tail = `/${channel}`;
  if (!topic.startsWith(head) || !topic.endsWith(tail)) return false;
  const level = topic.slice(head.length, topic.length - tail.length);
  return !level.includes('/') && topic.length >= head.length + tail.length;
}

/** Whether `topic` matches the filter `{prefix}/ue/+/infer`. */
export function isInferTopic(prefix: string, topic: string): boolean {
  return isUeChannelTopic(prefix, topic, 'infer');
}

/**
 * Starts turning the broker's `infer` publishes into jobs. Attach it before clients connect: it
 * learns the UEs' units from the decisions published through the broker from then on. Close
 * the broker before the ingress: a request the broker takes once the ingress is closed is
 * acknowledged but not enqueued (its agent sends it again after its timeout).
 */
export function attachIngress(broker: Broker, options: EmbeddedIngressOptions): Ingress {
  const logger = options.logger ?? componentLogger('ingress');
  const prefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const intake = openInferIntake(
    options,
    (topic, payload) => {
      broker.publish(topic, payload).catch((error: Error) => {
        logger.warn(`publishing to ${logText(topic)}: ${error.message}`);
      });
    },
    logger,
  );
  const detach = broker.intercept((topic, payload) => {
    if (isInferTopic(prefix, topic)) return intake.take(topic, payload);
    if (isUeChannelTopic(prefix, topic, 'decision') || isUeChannelTopic(prefix, topic, 'profile'))
      intake.observe(topic, payload);
    return undefined;
  });
  const redisPrefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  logger.info(
    `ingress in the broker takes ${prefix}/ue/+/infer, enqueueing to Redis prefix "${redisPrefix}"`,
  );
  let closing: Promise<void> | undefined;
  return {
    close: () => {
      detach();
      closing ??= intake.close();
      return closing;
    },
    stats: () => intake.stats(),
    connected: () => ({ mqtt: true, redis: intake.redisConnected() }),
  };
}
