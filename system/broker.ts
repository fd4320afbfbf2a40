/**
 * The embedded broker (aedes) with its ingress inside, as `edgesplit broker` runs it, with
 * authentication off: one part of a stack.
 */
import {
  attachIngress,
  type Broker,
  type Logger as BrokerLogger,
  createBroker,
  type Ingress,
} from '../broker/index.js';
import { type ProcessMetrics, watchBroker, watchIngress } from '../metrics/index.js';

export interface EmbeddedBrokerOptions {
  /** MQTT port (0: a free one). */
  readonly port: number;
  /** Address the broker binds to. */
  readonly host: string;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly topicPrefix: string;
  /** Where the broker (`broker`) and its ingress (`ingress`) log. */
  readonly logFor: (component: 'broker' | 'ingress') => BrokerLogger;
  /** Where their metrics go; none without. */
  readonly metrics?: ProcessMetrics;
  /** The ingress's claim directory (IntakeOptions.claimDir); tensors in Redis without. */
  readonly claimDir?: string;
}

export interface EmbeddedBroker {
  readonly broker: Broker;
  readonly ingress: Ingress;
  /** The broker's URL on the loopback address. */
  readonly mqttUrl: string;
  /** Closes the broker, then the ingress: no request is acknowledged once it stops taking them. */
  close(): Promise<void>;
}

export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const broker = await createBroker({
    port: options.port,
    host: options.host,
    auth: 'off',
    topicPrefix: options.topicPrefix,
    logger: options.logFor('broker'),
  });
  const mqttUrl = `mqtt://127.0.0.1:${broker.port}`;
  const ingress = attachIngress(broker, {
    redisUrl: options.redisUrl,
    redisPrefix: options.redisPrefix,
    topicPrefix: options.topicPrefix,
    logger: options.logFor('ingress'),
    ...(options.claimDir === undefined ? {} : { claimDir: options.claimDir }),
  });
  if (options.metrics !== undefined) {
    watchBroker(options.metrics, broker);
    watchIngress(options.metrics, ingress);
  }
  return {
    broker,
    ingress,
    mqttUrl,
    close: async () => {
      try {
        await broker.close();
      } finally {
        await ingress.close();
      }
    },
  };
}
