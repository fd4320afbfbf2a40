/**
 * Readiness of separate processes (the built CLI) as /readyz and /metrics tell it: a leader and a
 * standby scheduler, an edge worker with its units declared, and what happens to them when the
 * broker goes away and comes back.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../system/net.js';
import { deleteKeys } from '../system/redis-keys.js';
import { assertCliBuilt, type CliProcess } from './cli-process.js';
import { readyz, sample } from './metrics-scrape.js';
import { assertStoppedCleanly, ProcessGroup } from './process-harness.js';
import { testRedisUrl } from './services.js';
import { waitUntil } from './wait-until.js';

describe('readiness of the services', () => {
  const group = new ProcessGroup();
  const redisPrefix = `ready-${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    const unclean = await group.stopAll();
    await deleteKeys(testRedisUrl(), `${redisPrefix}:*`).catch(() => {});
    assertStoppedCleanly(unclean);
  });

  it('a scheduler is ready once its role is known (leader or standby), an edge worker once its units are declared; both stop being ready without the broker and are ready again after it returns', async () => {
    assertCliBuilt();
    const [mqttPort, brokerMetrics, leaderMetrics, standbyMetrics, workerMetrics] =
      await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const env = {
      MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
      REDIS_URL: testRedisUrl(),
      EDGESPLIT_REDIS_PREFIX: redisPrefix,
      EDGESPLIT_TOPIC_PREFIX: `ready/${redisPrefix}`,
    };
    const startBroker = async (): Promise<CliProcess> => {
      const broker = group.start(
        'broker',
        [
          'broker',
          ...['--no-auth', '--host', '127.0.0.1', '--port', String(mqttPort)],
          ...['--metrics-port', String(brokerMetrics)],
        ],
        env,
      );
      await broker.waitFor('stderr', /ingress in the broker takes/);
      return broker;
    };
    const broker = await startBroker();
    await waitUntil('the broker ready', async () => (await readyz(brokerMetrics)).status === 200);

    const first = group.start(
      'scheduler a',
      ['scheduler', '--id', 'sched-a', '--metrics-port', String(leaderMetrics)],
      env,
    );
    await first.waitFor('stderr', /started/);
    await waitUntil('scheduler a ready', async () => (await readyz(leaderMetrics)).status === 200);
    expect(await sample(leaderMetrics, 'edgesplit_scheduler_leader')).toBe(1);
    expect(await sample(leaderMetrics, 'edgesplit_mqtt_connected{component="scheduler"}')).toBe(1);

    const second = group.start(
      'scheduler b',
      ['scheduler', '--id', 'sched-b', '--metrics-port', String(standbyMetrics)],
      env,
    );
    await second.waitFor('stderr', /standing by/);
    // A standby holds no MQTT connection and is ready with Redis alone.
    await waitUntil('scheduler b ready', async () => (await readyz(standbyMetrics)).status === 200);
    expect(await sample(standbyMetrics, 'edgesplit_scheduler_leader')).toBe(0);
    expect(await sample(standbyMetrics, 'edgesplit_mqtt_connected{component="scheduler"}')).toBe(0);
    expect(await sample(standbyMetrics, 'edgesplit_redis_connected{component="scheduler"}')).toBe(
      1,
    );

    const worker = group.start(
      'edge-worker w1',
      ['edge-worker', '--id', 'w1', '--units', '2', '--metrics-port', String(workerMetrics)],
      env,
    );
    await worker.waitFor('stderr', /online with 2 units/);
    await waitUntil('w1 ready', async () => (await readyz(workerMetrics)).status === 200);
    expect(await sample(workerMetrics, 'edgesplit_edge_units_declared{worker="w1"}')).toBe(2);
    await waitUntil(
      'the leader counting the worker',
      async () => (await sample(leaderMetrics, 'edgesplit_scheduler_units')) === 2,
    );

    // The broker goes away: the worker and the leader lose MQTT and say so.
    const exit = await broker.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    await waitUntil('w1 not ready', async () => (await readyz(workerMetrics)).status === 503);
    expect((await readyz(workerMetrics)).text).toContain('edge-worker w1 connected to MQTT');
    await waitUntil(
      'w1 reporting MQTT down',
      async () =>
        (await sample(workerMetrics, 'edgesplit_mqtt_connected{component="edge-worker w1"}')) === 0,
    );
    await waitUntil(
      'the leader not ready',
      async () => (await readyz(leaderMetrics)).status === 503,
    );
    // Still alive all along.
    expect((await fetch(`http://127.0.0.1:${workerMetrics}/healthz`)).status).toBe(200);

    // Back: ready again, on their own.
    await startBroker();
    await waitUntil('w1 ready again', async () => (await readyz(workerMetrics)).status === 200);
    await waitUntil('the leader ready again', async () => {
      return (await readyz(leaderMetrics)).status === 200;
    });
    expect(await sample(standbyMetrics, 'edgesplit_scheduler_leader')).toBe(0);
  });

  it('an agent and a simulated fleet are ready once every agent is connected, and count their tasks', async () => {
    assertCliBuilt();
    const [mqttPort, agentMetrics, fleetMetrics] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
    ]);
    const env = {
      MQTT_URL: `mqtt://127.0.0.1:${mqttPort}`,
      REDIS_URL: testRedisUrl(),
      EDGESPLIT_REDIS_PREFIX: `${redisPrefix}-agents`,
      EDGESPLIT_TOPIC_PREFIX: `ready/${redisPrefix}-agents`,
    };
    const broker = group.start(
      'broker (agents)',
      ['broker', '--no-auth', '--host', '127.0.0.1', '--port', String(mqttPort)],
      env,
    );
    await broker.waitFor('stderr', /ingress in the broker takes/);
    // No scheduler: the agents run their models locally (--before-decision local).
    const agent = group.start(
      'agent',
      [
        'agent',
        ...['--id', 'ue-solo', '--model', 'alexnet', '--speed', '0.01', '--think-ms', '20'],
        ...['--before-decision', 'local', '--metrics-port', String(agentMetrics)],
      ],
      env,
    );
    const fleet = group.start(
      'fleet run',
      [
        'fleet',
        'run',
        ...['--ues', '3', '--seed', '1', '--speed', '0.01', '--think-ms', '20'],
        ...['--before-decision', 'local', '--metrics-port', String(fleetMetrics)],
      ],
      env,
    );
    await agent.waitFor('stderr', /online/);
    for (const [port, count] of [
      [agentMetrics, 1],
      [fleetMetrics, 3],
    ] as const) {
      // The fleet process may not listen yet when the agent is online: refused means not yet.
      await waitUntil(`readyz of :${port}`, () =>
        readyz(port).then(
          (response) => response.status === 200,
          () => false,
        ),
      );
      expect(await sample(port, 'edgesplit_agents')).toBe(count);
      expect(await sample(port, 'edgesplit_agents_connected')).toBe(count);
      await waitUntil(
        `tasks counted on :${port}`,
        async () => ((await sample(port, 'edgesplit_agent_tasks_total{outcome="ok"}')) ?? 0) > 0,
      );
    }
    expect(
      await sample(agentMetrics, 'edgesplit_agent_latency_seconds_count{ue="ue-solo"}'),
    ).toBeGreaterThan(0);
    expect(await fleet.stop()).toEqual({ code: 0, signal: null });
  });
});
