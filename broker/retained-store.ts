/**
 * Retained messages that survive a broker restart (docs/security.md, "Faults"): aedes keeps its
 * state in memory (aedes-persistence), so a broker killed and started again would have lost every
 * retained decision and `scheduler/status`. This wraps that in-memory persistence: each retained
 * message of the scheduler is also written to a Redis hash (in the order received, without holding
 * up the publish), and the hash is read back into memory when the broker starts.
 *
 * Bounded on purpose: only `ue/{ue}/decision` and `scheduler/status` under the broker's topic
 * prefix, valid, at most `maxPayloadBytes` each and `maxEntries` topics in all. Statuses of UEs
 * and edge workers, profiles and links are not kept: their owners announce them again on every
 * reconnect, and an `online` status kept for a process that died while the broker was down would
 * hand it units for ever. Sessions, subscriptions and queued messages stay in memory only.
 */
import { createRequire } from 'node:module';
import { decodeMessage, tryParseTopic } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { logText } from '../runtime/log-text.js';
import { connectRedis, createRedis } from '../runtime/redis-connect.js';
import type { Logger } from './log.js';

/** Where and how much the broker keeps. */
export interface RetainedStoreOptions {
  /** Redis URL. */
  readonly redisUrl: string;
  /** Redis key prefix: the hash is `{redisPrefix}:broker:retained`. */
  readonly redisPrefix: string;
  /**
   * Most topics kept; a retained message on a new topic beyond it stays in memory only (logged).
   * @defaultValue 100000
   */
  readonly maxEntries?: number;
  /**
   * Largest payload kept, in bytes.
   * @defaultValue 65536
   */
  readonly maxPayloadBytes?: number;
}

/** The Redis hash holding the kept retained messages (topic to payload). */
export function retainedKey(redisPrefix: string): string {
  return `${redisPrefix}:broker:retained`;
}

// A CommonJS module whose types declare an ES default export: required as what it is.
const memoryPersistence = createRequire(import.meta.url)('aedes-persistence') as () => unknown;

/** What aedes calls on its persistence for retained messages (the promise forms). */
interface RetainedPersistence {
  setup(broker: unknown): Promise<void>;
  storeRetained(packet: RetainedPacket): Promise<void>;
}

interface RetainedPacket {
  readonly cmd: 'publish';
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
}

/** How long the broker's start waits for Redis (a cluster: every slot served). */
const CONNECT_TIMEOUT_MS = 30_000;

/** Sets the field unless that adds a topic beyond ARGV[3]. 1: kept, 0: full. */
const STORE = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0`;

/** The persistence to hand to aedes, and what closes its Redis connection. */
export interface RetainedStore {
  readonly persistence: object;
  close(): Promise<void>;
}

/**
 * Aedes's in-memory persistence with the scheduler's retained messages kept in Redis. Loading
 * happens in `setup` (aedes awaits it before accepting clients); a Redis failure there fails the
 * broker's start. Later failures are logged and the message stays retained in memory.
 */
export function redisRetainedStore(
  options: RetainedStoreOptions,
  topicPrefix: string,
  logger: Logger,
): RetainedStore {
  const maxEntries = options.maxEntries ?? 100_000;
  const maxPayloadBytes = options.maxPayloadBytes ?? 65_536;
  const key = retainedKey(options.redisPrefix);
  const redis = createRedis(options.redisUrl, {
    maxRetriesPerRequest: 1,
    lazyConnect: true,
    commandTimeout: 5000,
  });
  let failing = false;
  redis.on('error', (error: Error) => {
    if (!failing) logger.warn(`retained store: redis: ${error.message}`);
  });
  // aedes-persistence's memory() is its callback layer; aedes calls the promise forms.
  const memory = memoryPersistence() as RetainedPersistence;
  const memorySetup = memory.setup.bind(memory);
  const memoryStore = memory.storeRetained.bind(memory);

  /** Why a retained message is not kept in Redis; undefined when it is. */
  const refusal = (topic: string, payload: Buffer): string | undefined => {
    const parsed = tryParseTopic(topicPrefix, topic);
    if (!parsed.ok) return 'not a topic of ours';
    const where = parsed.value;
    const kind =
      where.kind === 'scheduler'
        ? 'schedulerStatus'
        : where.kind === 'ue' && where.channel === 'decision'
          ? 'decision'
          : undefined;
    if (kind === undefined) return 'announced again by its owner on reconnect';
    if (payload.length === 0) return undefined;
    if (payload.length > maxPayloadBytes) return `payload above ${maxPayloadBytes} bytes`;
    const decoded = decodeMessage(kind, payload);
    return decoded.ok ? undefined : decoded.error.message;
  };

  const keep = async (topic: string, payload: Buffer): Promise<void> => {
    try {
      if (payload.length === 0) await redis.hdel(key, topic);
      else if ((await redis.eval(STORE, 1, key, topic, payload, maxEntries)) !== 1)
        logger.warn(
          `retained store: ${maxEntries} topics kept already, ${logText(topic)} stays in memory only`,
        );
      if (failing) logger.info('retained store: writing to redis again');
      failing = false;
    } catch (error) {
      if (!failing)
        logger.warn(
          `retained store: cannot write ${logText(topic)} to redis (${asError(error).message}); ` +
            'retained messages stay in memory only until it works again',
        );
      failing = true;
    }
  };

  Object.assign(memory, {
    setup: async (broker: unknown): Promise<void> => {
      await memorySetup(broker);
      await connectRedis(redis, CONNECT_TIMEOUT_MS);
      const kept = await redis.hgetallBuffer(key);
      let loaded = 0;
      for (const [topic, payload] of Object.entries(kept)) {
        const problem = refusal(topic, payload);
        if (problem !== undefined || payload.length === 0) {
          logger.warn(`retained store: skipped ${logText(topic)}: ${problem ?? 'empty'}`);
          continue;
        }
        await memoryStore({ cmd: 'publish', topic, payload, qos: 1, retain: true });
        loaded++;
      }
      logger.info(`retained store: ${loaded} retained messages restored from redis`);
    },
    storeRetained: async (packet: RetainedPacket): Promise<void> => {
      await memoryStore(packet);
      // Not awaited: a slow Redis must not hold up the client's publishes (aedes forwards a
      // retained message only once it is stored). One connection sends the writes in order.
      if (refusal(packet.topic, packet.payload) === undefined)
        void keep(packet.topic, packet.payload);
    },
  });
  return {
    persistence: memory,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
