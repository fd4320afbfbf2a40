import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MqttClient } from 'mqtt';
import {
  edgeStatusFilter,
  MESSAGE_QOS,
  schedulerStatusTopic,
  tryParseTopic,
  ueChannelFilter,
} from '../../proto/index.js';
import { type Listener, subscribe } from '../../runtime/events.js';
import { connectMqtt } from '../../runtime/mqtt-connect.js';
import { createRedis } from '../../runtime/redis-connect.js';
import { onCurrentMessage } from '../../runtime/retained-replay.js';
import { withTimeout } from '../../runtime/with-timeout.js';
import { BullmqConcurrency } from './bullmq-concurrency.js';
import { RedisDecisionLedger } from './decision-ledger.js';
import { SchedulerTransportError } from './errors.js';
import { routeMessage } from './inbound.js';
import { MqttDecisionSink } from './mqtt-sink.js';
import {
  type ResolvedSchedulerOptions,
  resolveSchedulerOptions,
  type SchedulerOptions,
} from './options.js';
import type { ConcurrencyPort, DecisionLedger } from './ports.js';
import { PresenceExpiry } from './presence-expiry.js';
import { SchedulerEngine } from './scheduler-engine.js';
import type { SchedulerEvents, SchedulerSnapshot, SchedulerStats } from './scheduler-events.js';

/** A running scheduler service. */
export interface Scheduler {
  /** The id published as `leaderId`. */
  readonly id: string;
  /** Stops solving, flushes pending publishes, disconnects. Idempotent. */
  close(): Promise<void>;
  /** The fleet state and the decisions last published. */
  state(): SchedulerSnapshot;
  stats(): SchedulerStats;
  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof SchedulerEvents>(event: K, listener: Listener<SchedulerEvents[K]>): () => void;
  /** Resolves once no solve is pending or running. */
  idle(): Promise<void>;
  /** Whether it is connected to the broker and to Redis now. */
  connected(): { readonly mqtt: boolean; readonly redis: boolean };
}

/** How long `close` waits for unacknowledged publishes before dropping the connection. */
const CLOSE_FLUSH_MS = 2000;

/**
 * Starts the scheduler service: connects to the broker (and Redis), reads the retained state
 * (inputs, decisions and `scheduler/status`, to continue the epoch), solves once, then re-solves
 * on every change (docs/live-system.md, "Scheduler rules").
 */
export async function startScheduler(options: SchedulerOptions = {}): Promise<Scheduler> {
  const config = resolveSchedulerOptions(options);
  const client = await connectMqtt({
    url: config.mqttUrl,
    clientId: `edgesplit-${config.id}-${randomBytes(4).toString('hex')}`,
    clean: true,
    protocolVersion: 4,
    ...(config.mqttUsername === undefined ? {} : { username: config.mqttUsername }),
    ...(config.mqttPassword === undefined ? {} : { password: config.mqttPassword }),
  });
  const redis = createRedis(config.redisUrl, { maxRetriesPerRequest: 3 });
  let ownPort: ConcurrencyPort | undefined;
  // Transport errors go to the engine's `error` event once it exists.
  const errorTarget: { engine?: SchedulerEngine } = {};
  const fail = (error: Error) => errorTarget.engine?.fail(error);
  client.on('error', fail);
  let concurrency = config.concurrency;
  redis.on('error', fail);
  if (concurrency === undefined) {
    ownPort = new BullmqConcurrency(redis, config.redisPrefix, fail);
    concurrency = ownPort;
  }
  const ledger = new RedisDecisionLedger(
    redis,
    config.redisPrefix,
    config.fenced ? config.id : undefined,
  );
  const engine = new SchedulerEngine({
    id: config.id,
    solver: config.solver,
    coalesceMs: config.coalesceMs,
    hysteresis: config.hysteresis,
    retryMs: config.retryMs,
    sink: new MqttDecisionSink(client, config.topicPrefix, fail),
    concurrency,
    ledger,
  });
  errorTarget.engine = engine;
  const presence = new PresenceExpiry(config.statusExpiryMs, config.edgeStatusExpiryMs);
  const shutdown = async () => {
    presence.stop();
    await engine.close();
    await endClient(client);
    await ownPort?.close();
    await redis.quit().catch(() => redis.disconnect());
  };
  try {
    await readRetainedState(client, engine, ledger, config, presence);
  } catch (error) {
    await shutdown();
    throw error;
  }
  engine.start();
  presence.start(engine);
  // A broker that restarted may have lost the retained decisions and status: publish them all
  // again (fenced like any solve). The first connection is made before this listener exists.
  const reconfirm = reconfirmWorkers(client, engine, config.topicPrefix);
  client.on('connect', () => {
    engine.republish(true);
    reconfirm();
  });
  let closing: Promise<void> | undefined;
  return {
    id: config.id,
    close: () => {
      closing ??= shutdown();
      return closing;
    },
    state: () => engine.snapshot(),
    stats: () => engine.stats(),
    on: (event, listener) => subscribe(engine, event, listener),
    idle: () => engine.idle(),
    connected: () => ({ mqtt: client.connected, redis: redis.status === 'ready' }),
  };
}

/**
 * Subscribes (QoS 1) to the inputs and, for start-up only, to the retained decisions and
 * `scheduler/status`; returns once retained messages stopped arriving, then takes the ledger's
 * record over them. Subscriptions are made before the broker sends retained messages
 * [MQTT-3.3.1-6], so none is missed. A fenced scheduler keeps `scheduler/status`: one naming
 * another scheduler (a deposed leader's late publish) makes it publish its own again.
 */
async function readRetainedState(
  client: MqttClient,
  engine: SchedulerEngine,
  ledger: DecisionLedger,
  config: ResolvedSchedulerOptions,
  presence: PresenceExpiry,
): Promise<void> {
  const prefix = config.topicPrefix;
  let lastMessageAt = performance.now();
  let started = false;
  // A replay that a live message overtook is stale (a worker's `online` after its last will).
  onCurrentMessage(client, (topic, payload) => {
    lastMessageAt = performance.now();
    const inbound = routeMessage(prefix, topic, payload);
    switch (inbound.kind) {
      case 'event':
        presence.heard(inbound.event, Date.now());
        return engine.apply(inbound.event);
      case 'rejected':
        return engine.reject(inbound.rejected);
      case 'decision':
        return engine.restoreDecision(inbound.ue, inbound.decision);
      case 'schedulerStatus':
        if (!started) return engine.restoreEpoch(inbound.status.epoch);
        if (inbound.status.leaderId !== config.id) engine.republish(false);
        return;
      case 'ignored':
        return;
    }
  });
  const inputs = [
    ueChannelFilter(prefix, 'status'),
    ueChannelFilter(prefix, 'profile'),
    ueChannelFilter(prefix, 'link'),
    edgeStatusFilter(prefix),
  ];
  const startup = [ueChannelFilter(prefix, 'decision'), schedulerStatusTopic(prefix)];
  const granted = await client.subscribeAsync(
    Object.fromEntries([...inputs, ...startup].map((filter) => [filter, { qos: MESSAGE_QOS }])),
  );
  // A SUBACK return code of 0x80 or above refuses the subscription (MQTT 3.1.1 section 3.9.3).
  const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
  if (refused.length > 0)
    throw new SchedulerTransportError('subscribe', `subscription refused: ${refused.join(', ')}`);
  lastMessageAt = performance.now();
  const quiet = config.startupQuietMs;
  const deadline = lastMessageAt + Math.max(1000, 20 * quiet);
  for (;;) {
    const now = performance.now();
    const silentFor = now - lastMessageAt;
    if (silentFor >= quiet || now >= deadline) break;
    await sleep(Math.max(1, Math.min(quiet - silentFor, deadline - now)));
  }
  const snapshot = await ledger.read();
  if (snapshot !== undefined) engine.restoreSnapshot(snapshot);
  started = true;
  // Our own decisions (and, unfenced, status) would only echo back from now on.
  await client.unsubscribeAsync(config.fenced ? startup.slice(0, 1) : startup);
}

/**
 * After a reconnect, how long edge workers have to announce themselves again (they do on every
 * reconnect, and every 10 s) before they are taken for offline: one that died while the broker
 * was down never had its last will published. Counted from the reconnect (see
 * `reconfirmWorkers`).
 */
const RECONFIRM_MS = 5000;

/**
 * Returns the handler of every reconnect: it waits RECONFIRM_MS, then takes for offline every
 * worker not heard from since the reconnect. A later reconnect supersedes an earlier one's wait.
 * Nothing is subscribed here: the subscription to the edge statuses lasts for the connection's
 * life, and mqtt.js renews it by itself on a reconnect without session (the statuses the broker
 * retains follow its acknowledgement), so the wait counts from the reconnect. A worker whose
 * `online` (its retained status replayed, or its next announcement) comes after the wait is
 * taken back then.
 */
function reconfirmWorkers(client: MqttClient, engine: SchedulerEngine, prefix: string): () => void {
  let reconnects = 0;
  return () => {
    const reconnect = ++reconnects;
    const heard = new Set<string>();
    const listen = (topic: string) => {
      const parsed = tryParseTopic(prefix, topic);
      if (parsed.ok && parsed.value.kind === 'edge') heard.add(parsed.value.worker);
    };
    client.on('message', listen);
    setTimeout(() => {
      client.off('message', listen);
      if (reconnect === reconnects) engine.reconfirmWorkers(heard);
    }, RECONFIRM_MS).unref();
  };
}

/**
 * Ends the connection, waiting up to CLOSE_FLUSH_MS for unacknowledged publishes. A broker that
 * is gone never acknowledges them, and mqtt.js ignores a second `end(true)` while a graceful end
 * is in progress (its callback would never run): the socket is destroyed instead.
 */
async function endClient(client: MqttClient): Promise<void> {
  if (!client.connected) {
    await client.endAsync(true);
    return;
  }
  await withTimeout(client.endAsync(false), CLOSE_FLUSH_MS).catch(() => {
    client.stream.destroy();
  });
}
