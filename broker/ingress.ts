/**
 * The ingress: an MQTT client (role `ingress`) that turns `ue/{ue}/infer` messages into tail
 * jobs (docs/live-system.md, "Queue contract"). The tensor's raw float32 bytes go to Redis under
 * the claim key; the job carries metadata only.
 */
import { Redis } from 'ioredis';
import type { IClientOptions, MqttClient } from 'mqtt';
import {
  answerKey,
  CLAIM_TTL_SECONDS,
  claimKey,
  connectMqtt,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_REDIS_PREFIX,
  DEFAULT_TOPIC_PREFIX,
  encodeMessage,
  logText,
  MESSAGE_QOS,
  type TailJobData,
  tailJobId,
  ueChannelFilter,
  ueTopic,
} from '../proto/index.js';
import { readInferMessage } from './infer-request.js';
import { type Logger, stderrLogger } from './log.js';

import { QueueCache } from './queue-cache.js';

/** Options of `startIngress`. */
export interface IngressOptions {
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
  /** Redis URL for claim checks and BullMQ (`REDIS_URL`). */
  redisUrl: string;
  /**
   * Prefix of claim keys and BullMQ's `prefix` (`EDGESPLIT_REDIS_PREFIX`).
   * @defaultValue 'edgesplit' (`DEFAULT_REDIS_PREFIX`)
   */
  redisPrefix?: string;
  /**
   * Topic prefix (`EDGESPLIT_TOPIC_PREFIX`).
   * @defaultValue 'edgesplit/v1' (`DEFAULT_TOPIC_PREFIX`)
   */
  topicPrefix?: string;
  /**
   * How long a stored tensor waits for its job, in seconds.
   * @defaultValue 600 (`CLAIM_TTL_SECONDS`)
   */
  claimTtlSeconds?: number;
  /**
   * Largest `infer` payload decoded; a bigger one gets a PAYLOAD_TOO_LARGE error.
   * @defaultValue 16 MiB (`DEFAULT_MAX_PAYLOAD_BYTES`)
   */
  maxPayloadBytes?: number;
  /**
   * Most per-UE Queue objects kept open while idle.
   * @defaultValue 1024
   */
  maxQueues?: number;
  /**
   * A UE's Queue object unused for this long is closed, in ms.
   * @defaultValue 60000
   */
  queueIdleMs?: number;
  /**
   * Most requests being stored at once; more wait, unread, in the broker.
   * @defaultValue 256
   */
  maxInFlight?: number;
  /** @defaultValue timestamped lines on stderr */
  logger?: Logger;
}

/** Counters since the ingress started. */
export interface IngressStats {
  /** Requests enqueued as new jobs. */
  readonly accepted: number;
  /** Requests whose job already existed (a QoS 1 redelivery or a resend): nothing enqueued. */
  readonly duplicates: number;
  /** Duplicates of finished requests answered again from the kept answer. */
  readonly answeredAgain: number;
  /** Invalid requests, answered with an `error` message. */
  readonly rejected: number;
  /** Valid requests that Redis failed to store or enqueue. */
  readonly failed: number;
  /** Requests being stored right now. */
  readonly inFlight: number;
  /** Per-UE Queue objects open. */
  readonly openQueues: number;
}

/** A running ingress. */
export interface Ingress {
  /** Stops taking requests, finishes those in flight, and disconnects. Safe to call twice. */
  close(): Promise<void>;
  stats(): IngressStats;
}

/**
 * Stores the tensor unless the request's job exists already (then it is a duplicate: 0).
 * Without a job the tensor is (re)written even if a claim key is there: an ingress that died
 * between storing and enqueueing leaves one behind, and the resend must not be refused for it.
 * Two copies racing here both store the same bytes; BullMQ adds their job once. 1: stored.
 */
const STORE_CLAIM = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1`;

const JOB_RETENTION = { age: 3600 } as const;

/** Connects to the broker and Redis and starts turning requests into jobs. */
export async function startIngress(options: IngressOptions): Promise<Ingress> {
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  const redisPrefix = options.redisPrefix ?? DEFAULT_REDIS_PREFIX;
  const ttl = options.claimTtlSeconds ?? CLAIM_TTL_SECONDS;
  const maxBytes = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const logger = options.logger ?? stderrLogger('ingress');
  if (!Number.isSafeInteger(ttl) || ttl < 1)
    throw new RangeError(`claimTtlSeconds must be a positive integer, not ${ttl}`);

  const redis = new Redis(options.redisUrl, { enableAutoPipelining: true });
  redis.on('error', (error: Error) => logger.error(`redis: ${error.message}`));
  const queues = new QueueCache({
    connection: redis,
    prefix: redisPrefix,
    maxQueues: options.maxQueues ?? 1024,
    idleMs: options.queueIdleMs ?? 60_000,
    logger,
  });
  const counts = { accepted: 0, duplicates: 0, answeredAgain: 0, rejected: 0, failed: 0 };
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = options.maxInFlight ?? 256;

  /**
   * A resend of a request whose job already finished: the UE missed the answer (e.g. a broker
   * restart lost its session), so the kept answer goes out again. A job still pending answers
   * by itself.
   */
  const answerAgain = async (mqtt: MqttClient, ue: string, requestId: string) => {
    const answer = await redis.hgetallBuffer(answerKey(redisPrefix, ue, requestId));
    const channel = answer.channel?.toString();
    if (answer.payload === undefined || (channel !== 'result' && channel !== 'error')) return;
    counts.answeredAgain += 1;
    mqtt.publish(ueTopic(topicPrefix, ue, channel), answer.payload, { qos: MESSAGE_QOS }, (e) => {
      if (e) logger.warn(`publishing a kept answer again: ${e.message}`);
    });
  };

  const handle = async (mqtt: MqttClient, topic: string, payload: Buffer): Promise<void> => {
    const outcome = readInferMessage(topicPrefix, topic, payload, maxBytes);
    if (!outcome.ok) {
      counts.rejected += 1;
      const issue = outcome.report.issues[0] ?? outcome.report.message;
      logger.warn(`rejected request on ${logText(topic)}: ${logText(issue)}`);
      // Not awaited: the PUBACK arrives on the packet stream that may be paused until this
      // request's slot is free (see handleMessage below).
      if (outcome.errorTopic !== undefined)
        mqtt.publish(
          outcome.errorTopic,
          encodeMessage(outcome.report),
          { qos: MESSAGE_QOS },
          (e) => {
            if (e) logger.warn(`publishing an error report: ${e.message}`);
          },
        );
      return;
    }
    const { ue, request } = outcome;
    const key = claimKey(redisPrefix, ue, request.requestId);
    const jobId = tailJobId(ue, request.requestId);
    const { data, shape } = request.tensor;
    const queue = queues.acquire(ue);
    try {
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const stored = await redis.eval(STORE_CLAIM, 2, queue.toKey(jobId), key, bytes, ttl);
      if (stored !== 1) {
        counts.duplicates += 1;
        await answerAgain(mqtt, ue, request.requestId);
        return;
      }
      const job: TailJobData = {
        ue,
        requestId: request.requestId,
        epoch: request.epoch,
        model: request.model,
        cut: request.cut,
        sample: request.sample,
        claimKey: key,
        dtype: 'float32',
        shape,
        sentAt: request.sentAt,
        enqueuedAt: Date.now(),
      };
      try {
        await queue.add('tail', job, {
          jobId,
          removeOnComplete: JOB_RETENTION,
          removeOnFail: JOB_RETENTION,
        });
      } catch (error) {
        // Let a resend of this request store its tensor again.
        await redis.del(key).catch(() => undefined);
        throw error;
      }
      counts.accepted += 1;
    } catch (error) {
      counts.failed += 1;
      logger.error(
        `enqueueing ${jobId}: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      queues.release(ue);
    }
  };

  // Requests are stored concurrently, up to maxInFlight; beyond that mqtt.js reads no further
  // packet (and acknowledges none) until one finishes, so a burst waits in the broker's session
  // queue rather than in this process's memory.
  let readNext: (() => void) | undefined;
  const setup = (client: MqttClient) => {
    client.handleMessage = (_packet, callback) => {
      if (inFlight.size < maxInFlight) callback();
      else readNext = callback;
    };
    client.on('message', (topic, payload) => {
      const task = handle(client, topic, payload)
        .catch((error: unknown) => logger.error(`handling ${logText(topic)}: ${String(error)}`))
        .finally(() => {
          inFlight.delete(task);
          const resume = readNext;
          readNext = undefined;
          resume?.();
        });
      inFlight.add(task);
    });
    client.on('error', (error) => logger.error(`mqtt: ${error.message}`));
    client.on('offline', () => logger.warn('mqtt: disconnected from the broker, reconnecting'));
  };

  let mqtt: MqttClient;
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
    await queues.close();
    redis.disconnect();
    throw error;
  }

  const filter = ueChannelFilter(topicPrefix, 'infer');
  try {
    // mqtt.js fails the call when the SUBACK refuses the filter (0x80).
    await mqtt.subscribeAsync(filter, { qos: MESSAGE_QOS });
  } catch (cause) {
    await mqtt.endAsync(true);
    await queues.close();
    redis.disconnect();
    const hint = 'does this credential have the ingress role?';
    throw new Error(`the broker refused the subscription to ${filter}: ${hint}`, { cause });
  }
  logger.info(`ingress subscribed to ${filter}, enqueueing to Redis prefix "${redisPrefix}"`);

  let closing: Promise<void> | undefined;
  const close = async () => {
    await mqtt.endAsync();
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    await queues.close();
    await redis.quit().catch(() => redis.disconnect());
  };
  return {
    close: () => {
      closing ??= close();
      return closing;
    },
    stats: () => ({ ...counts, inFlight: inFlight.size, openQueues: queues.size }),
  };
}
