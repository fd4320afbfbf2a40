import { randomBytes } from 'node:crypto';
import { freePort } from '../system/net.js';
import { deleteKeys } from '../system/redis-keys.js';
import type { CliProcess } from './cli-process.js';
import { ProcessGroup } from './process-harness.js';
import { testMosquittoUrl, testRedisUrl } from './services.js';
import { SystemObserver } from './system-observer.js';
import { waitUntil } from './wait-until.js';

export type BrokerKind = 'embedded' | 'mosquitto';

export interface SystemOptions {
  readonly broker: BrokerKind;
  readonly workers: number;
  readonly units: number;
  /** Multiplies every emulated tail time. @defaultValue 1 */
  readonly speedFactor?: number;
  /** Extra `edge-worker` flags. */
  readonly workerArgs?: readonly string[];
  /** Extra `scheduler` flags. */
  readonly schedulerArgs?: readonly string[];
  /** With `broker: 'mosquitto'`: a broker of the test's own. @defaultValue the shared one */
  readonly mqttUrl?: string;
  /** Redis (a cluster's `redis+cluster://` URL, say). @defaultValue the tests' Redis */
  readonly redisUrl?: string;
  /**
   * With `broker: 'mosquitto'`: `count` ingresses of one shared-subscription group, each
   * logging its counters every second, instead of one ingress on a persistent session.
   */
  readonly ingressGroup?: { readonly name: string; readonly count: number };
}

/**
 * The live system as separate processes of the built CLI: a broker (`edgesplit broker` with
 * its ingress, or the test Mosquitto plus `edgesplit ingress`), the scheduler and edge workers,
 * on unique topic and Redis prefixes, with an observer on every topic.
 */
export class RunningSystem {
  readonly group = new ProcessGroup();
  readonly workers: CliProcess[] = [];
  broker: CliProcess | undefined;
  ingress!: CliProcess;
  /** The ingresses of `ingressGroup`, in start order. */
  readonly ingresses: CliProcess[] = [];
  scheduler!: CliProcess;
  observer!: SystemObserver;
  mqttUrl = '';
  readonly redisUrl: string;
  readonly topicPrefix = `e2e/${randomBytes(4).toString('hex')}`;
  readonly redisPrefix = `e2e-${randomBytes(4).toString('hex')}`;
  private brokerPort = 0;

  private constructor(readonly options: SystemOptions) {
    this.redisUrl = options.redisUrl ?? testRedisUrl();
  }

  static async start(options: SystemOptions): Promise<RunningSystem> {
    const system = new RunningSystem(options);
    try {
      await system.boot();
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  /** The environment every process of this system gets. */
  env(): NodeJS.ProcessEnv {
    return {
      MQTT_URL: this.mqttUrl,
      REDIS_URL: this.redisUrl,
      EDGESPLIT_TOPIC_PREFIX: this.topicPrefix,
      EDGESPLIT_REDIS_PREFIX: this.redisPrefix,
    };
  }

  private async boot(): Promise<void> {
    if (this.options.broker === 'embedded') {
      this.brokerPort = await freePort();
      this.mqttUrl = `mqtt://127.0.0.1:${this.brokerPort}`;
      await this.startBroker();
    } else {
      this.mqttUrl = this.options.mqttUrl ?? testMosquittoUrl();
      const group = this.options.ingressGroup;
      if (group === undefined) await this.startIngress();
      else
        for (let index = 1; index <= group.count; index++)
          await this.startGroupIngress(`ingress-${index}`, group.name);
    }
    this.observer = await SystemObserver.open(this.mqttUrl, this.topicPrefix);
    this.scheduler = this.group.start(
      'scheduler',
      ['scheduler', ...(this.options.schedulerArgs ?? [])],
      this.env(),
    );
    await this.scheduler.waitForLog(/started/, { timeoutMs: 60_000 });
    for (let index = 1; index <= this.options.workers; index++) this.startWorker(`w${index}`);
    await waitUntil(
      'every edge worker online',
      () => this.observer.onlineUnits() === this.options.workers * this.options.units,
      // Each worker is a fresh Node process: on a loaded 2-core machine starting one takes seconds.
      60_000,
    );
  }

  /** Starts (or restarts) the embedded broker with its ingress on the system's port. */
  async startBroker(): Promise<CliProcess> {
    const broker = this.group.start(
      'broker',
      ['broker', '--no-auth', '--host', '127.0.0.1', '--port', String(this.brokerPort)],
      this.env(),
    );
    this.broker = broker;
    this.ingress = broker;
    await broker.waitForLog(/ingress in the broker takes/, {
      timeoutMs: 60_000,
      where: (line) => line.component === 'ingress',
    });
    return broker;
  }

  /** Starts (or restarts) the standalone ingress, always with the same persistent session. */
  async startIngress(): Promise<CliProcess> {
    const ingress = this.group.start(
      'ingress',
      ['ingress', '--client-id', `ingress-${this.redisPrefix}`],
      this.env(),
    );
    this.ingress = ingress;
    await ingress.waitForLog(/subscribed to/, { timeoutMs: 60_000 });
    return ingress;
  }

  /** Starts one ingress of a shared-subscription group (clean session, counters every second). */
  async startGroupIngress(name: string, group: string): Promise<CliProcess> {
    const ingress = this.group.start(
      name,
      ['ingress', '--group', group, '--stats-every', '1'],
      this.env(),
    );
    this.ingresses.push(ingress);
    this.ingress = ingress;
    await ingress.waitFor('stderr', /subscribed to \$share\//, 60_000);
    return ingress;
  }

  startWorker(id: string): CliProcess {
    const worker = this.group.start(
      `edge-worker ${id}`,
      [
        'edge-worker',
        ...['--id', id, '--units', String(this.options.units)],
        ...['--speed-factor', String(this.options.speedFactor ?? 1)],
        ...(this.options.workerArgs ?? []),
      ],
      this.env(),
    );
    this.workers.push(worker);
    return worker;
  }

  /**
   * Stops every process and deletes the system's Redis keys; returns the processes that did
   * not shut down cleanly (see `ProcessGroup.stopAll`).
   */
  async stop(): Promise<string[]> {
    await this.observer?.close().catch(() => {});
    const unclean = await this.group.stopAll();
    await deleteKeys(this.redisUrl, `${this.redisPrefix}:*`).catch(() => {});
    return unclean;
  }
}
