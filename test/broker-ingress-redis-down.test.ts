/**
 * Redis going away under the ingress: a private redis-server on a free port, killed (SIGKILL)
 * and started again on the same port. Every request the UE sends meanwhile is acknowledged and
 * answered with a retryable UNAVAILABLE error; once Redis is back the same requests are queued.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import {
  attachIngress,
  type Broker,
  createBroker,
  type Ingress,
  startIngress,
  type TokenRecord,
} from '../broker/index.js';
import {
  type ErrorReport,
  encodeMessage,
  type InferRequest,
  isRetryableError,
  type TailJobData,
  tailJobId,
  ueQueueName,
} from '../proto/index.js';
import { freePort, waitForPort } from '../system/net.js';
import { connect, errorCollector, P, TOKEN } from './ingress-fixtures.js';
import { recordingLogger } from './recording-logger.js';
import { decision, request } from './request-fixtures.js';
import { waitUntil } from './wait-until.js';

const PREFIX = 'edgesplit-test-redis-down';
const tokens: TokenRecord[] = [
  { username: 'ue-1', role: 'ue', ue: 'ue-1', token: TOKEN('ue-1') },
  { username: 'ingress', role: 'ingress', token: TOKEN('ingress') },
  { username: 'scheduler', role: 'scheduler', token: TOKEN('scheduler') },
];
const { logger } = recordingLogger();
const FRONT_ENDS = ['as an MQTT client', 'inside the embedded broker'] as const;

/** A redis-server of this test's own on `port`, persisting nothing. */
async function startRedis(port: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  await waitForPort(port, 'redis-server');
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

describe.each(FRONT_ENDS)('the ingress %s, Redis killed and restarted', (frontEnd) => {
  const opened: { close(): Promise<void> | void }[] = [];
  afterEach(async () => {
    for (const thing of opened.reverse()) await thing.close();
    opened.length = 0;
  });

  it('answers each request sent while Redis is down with a retryable UNAVAILABLE, and queues the same requests once it is back', async () => {
    const port = await freePort();
    let server = await startRedis(port);
    opened.push({ close: () => kill(server) });
    const redisUrl = `redis://127.0.0.1:${port}`;
    const broker: Broker = await createBroker({
      port: 0,
      host: '127.0.0.1',
      auth: { tokens },
      logger,
    });
    const url = `mqtt://127.0.0.1:${broker.port}`;
    const common = { redisUrl, redisPrefix: PREFIX, topicPrefix: P, redisTimeoutMs: 1000 };
    const ingress: Ingress =
      frontEnd === 'as an MQTT client'
        ? await startIngress({
            ...common,
            mqttUrl: url,
            username: 'ingress',
            password: TOKEN('ingress'),
            logger,
          })
        : attachIngress(broker, { ...common, logger });
    opened.push(ingress, broker);
    const scheduler = await connect(url, 'scheduler');
    await scheduler.publishAsync(`${P}/ue/ue-1/decision`, encodeMessage(decision(2)), {
      qos: 1,
      retain: true,
    });
    await scheduler.endAsync();
    await waitUntil('the decision', () => ingress.stats().decisions === 1);
    const ue: MqttClient = await connect(url, 'ue-1');
    opened.push({ close: () => void ue.end(true) });
    await ue.subscribeAsync(`${P}/ue/ue-1/error`, { qos: 1 });
    const errors: ErrorReport[] = [];
    errorCollector(ue, errors);
    const send = (requests: readonly InferRequest[]) =>
      Promise.all(
        requests.map((r) => ue.publishAsync(`${P}/ue/ue-1/infer`, encodeMessage(r), { qos: 1 })),
      );

    await send([request()]);
    await waitUntil('the first request queued', () => ingress.stats().accepted === 1);

    await kill(server);
    const during = Array.from({ length: 4 }, () => request());
    await send(during);
    await waitUntil('4 errors', () => errors.length === 4, 30_000);
    expect(errors.map((e) => e.code)).toEqual(Array(4).fill('UNAVAILABLE'));
    expect(errors.every((e) => isRetryableError(e.code))).toBe(true);
    expect(errors.map((e) => e.requestId).sort()).toEqual(during.map((r) => r.requestId).sort());
    expect(ingress.stats().failed).toBe(4);

    server = await startRedis(port);
    // The UE sends the same requests again, as an agent does on a retryable error, until the
    // ingress (reconnecting on its own) has them.
    await waitUntil(
      'the 4 requests queued after Redis is back',
      async () => {
        if (ingress.stats().accepted === 5) return true;
        await new Promise((resolve) => setTimeout(resolve, 200));
        const before = ingress.stats();
        await send(during);
        await waitUntil('the resends handled', () => {
          const now = ingress.stats();
          return now.accepted - before.accepted + (now.failed - before.failed) >= 4;
        });
        return ingress.stats().accepted === 5;
      },
      30_000,
    );
    const inspect = new Redis(redisUrl);
    const queue = new Queue<TailJobData>(ueQueueName('ue-1'), {
      connection: inspect,
      prefix: PREFIX,
    });
    opened.push({ close: () => inspect.quit().then(() => undefined) }, queue);
    for (const r of during) {
      const job = await queue.getJob(tailJobId('ue-1', r.requestId));
      expect(job?.data.requestId).toBe(r.requestId);
    }
  });
});
