/**
 * Bad input against the live system, as separate processes of the built CLI: the broker with
 * its ingress (authentication on, payload limit 1 MiB), the scheduler and one edge worker.
 * 2,000 fuzzed payloads go to each UE topic the system consumes; every process stays up, each
 * rejected payload earns exactly its error on the UE's error topic, oversize ones are refused by
 * the broker, and no retained message, decision, solve or job changes.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readInferMessage } from '../broker/index.js';
import { DEVICE_CLASSES, deviceProfile, modelCuts } from '../dnn/index.js';
import {
  claimKey,
  decodeMessage,
  type ErrorReport,
  encodeMessage,
  errorReportFrom,
  type InferRequest,
  type LinkEstimate,
  type Profile,
  schedulerStatusTopic,
  ueQueueName,
  ueTopic,
} from '../proto/index.js';
import { defined, mapGet } from '../runtime/defined.js';
import { routeMessage } from '../scheduler/index.js';
import { deleteKeys } from '../system/redis-keys.js';
import { assertCliBuilt, CliProcess } from './cli-process.js';
import { keysMatching } from './keys-matching.js';
import { testRedisUrl, uniquePrefix } from './services.js';
import { connectAs, type Login, Observer, retainedSnapshot } from './system-fuzz-observer.js';
import {
  FUZZED_CHANNELS,
  type FuzzedChannel,
  fuzzPayloads,
  oversizeSizes,
} from './system-fuzz-payloads.js';
import { WAIT_MS, waitUntil } from './wait-until.js';

const SEED = 20_240_611;
const PER_TOPIC = 2000;
const MAX_PAYLOAD = 1024 * 1024;
const OVERSIZE = oversizeSizes(MAX_PAYLOAD);
/** The payloads of a topic the broker delivers; the oversize rest it refuses. */
const DELIVERED = PER_TOPIC - OVERSIZE.length;
const MODEL = 'tiny-cnn';
const FUZZ_UE = 'ue-f';
const UES = ['ue-a', 'ue-b', FUZZ_UE] as const;
const WORKER = 'edge-1';
const SCHEDULER_ID = 'fuzz-sched';
const RETAIN = { qos: 1, retain: true } as const;

const topicPrefix = `fuzz/${uniquePrefix('system')}`;
const redisPrefix = uniquePrefix('edgesplit-fuzz');
const logins: Record<string, Login> = Object.fromEntries(
  ['sched', WORKER, 'observer', ...UES].map((name) => [
    name,
    { username: name, password: `${name}-${randomBytes(12).toString('hex')}` },
  ]),
);
const loginOf = (name: string): Login => defined(logins[name], `the login of "${name}"`);
const tokens = [
  `sched:scheduler:${loginOf('sched').password}`,
  `${WORKER}:edge:${loginOf(WORKER).password}`,
  `observer:observer:${loginOf('observer').password}`,
  ...UES.map((ue) => `${ue}:ue:${ue}:${loginOf(ue).password}`),
].join(',');
const common: NodeJS.ProcessEnv = {
  REDIS_URL: testRedisUrl(),
  EDGESPLIT_REDIS_PREFIX: redisPrefix,
  EDGESPLIT_TOPIC_PREFIX: topicPrefix,
  MQTT_USERNAME: '',
  MQTT_PASSWORD: '',
  EDGESPLIT_AUTH: '',
  EDGESPLIT_CREDENTIALS: '',
  EDGESPLIT_MAX_PAYLOAD: '',
};

/** A slow device on a fast link, so that every UE offloads. */
function profileOf(index: number): Profile {
  const device = defined(
    DEVICE_CLASSES.find((candidate) => candidate.id === 'rpi3-cpu'),
    'device class rpi3-cpu',
  );
  const scale = 1000 + 250 * index;
  const cuts = deviceProfile(MODEL, device).map((cut) => ({
    ...cut,
    deviceMs: cut.deviceMs * scale,
  }));
  return { model: MODEL, batch: 1, resultBytes: 40, cuts };
}

function linkOf(index: number): LinkEstimate {
  const uplinkMbps = defined([50, 20, 30][index], `the uplink of UE ${index}`);
  return { uplinkMbps, rttMs: 2, downlinkMbps: 100, measuredAt: Date.now() };
}

const processes: CliProcess[] = [];
let broker: CliProcess;
let scheduler: CliProcess;
let worker: CliProcess;
let mqttUrl: string;
let observer: Observer;
const agents = new Map<string, MqttClient>();
let redis: Redis;
let fuzzQueue: Queue;

function start(name: string, args: string[], env: NodeJS.ProcessEnv): CliProcess {
  const child = CliProcess.start(name, args, { ...common, ...env });
  processes.push(child);
  return child;
}

function startScheduler(): CliProcess {
  const { username, password } = loginOf('sched');
  return start('scheduler', ['scheduler', '--id', SCHEDULER_ID], {
    MQTT_URL: mqttUrl,
    MQTT_USERNAME: username,
    MQTT_PASSWORD: password,
  });
}

const solveLines = () => scheduler.logMatching(/^epoch \d+:/).length;

/** Resolves once the scheduler printed no solve for `quietMs`. */
async function settled(quietMs = 400): Promise<void> {
  let count = solveLines();
  let since = performance.now();
  while (performance.now() - since < quietMs) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (solveLines() !== count) {
      count = solveLines();
      since = performance.now();
    }
  }
}

/** Every retained message, as base64 by topic (readable in a diff). */
async function snapshot(): Promise<Record<string, string>> {
  const retained = await retainedSnapshot(mqttUrl, topicPrefix, loginOf('observer'));
  // An edge worker re-announces its status every 10 s: only its time may differ.
  return Object.fromEntries(
    [...retained].map(([topic, bytes]) => {
      if (!/\/edge\/[^/]+\/status$/.test(topic)) return [topic, bytes.toString('base64')];
      const { at: _at, ...status } = unpack(bytes) as Record<string, unknown>;
      return [topic, JSON.stringify(status)];
    }),
  );
}

async function jobTotal(queue: Queue = fuzzQueue): Promise<number> {
  const counts = await queue.getJobCounts();
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

async function claimCount(ue = FUZZ_UE): Promise<number> {
  return (await keysMatching(redis, `${claimKey(redisPrefix, ue, '')}*`)).length;
}

/** The error report the system owes the UE for `bytes` on `topic`; undefined if it is valid. */
function expectedReport(channel: FuzzedChannel, topic: string, bytes: Buffer) {
  if (channel === 'infer') {
    const outcome = readInferMessage(topicPrefix, topic, bytes, MAX_PAYLOAD);
    return outcome.ok ? undefined : outcome.report;
  }
  const inbound = routeMessage(topicPrefix, topic, bytes);
  return inbound.kind === 'rejected'
    ? errorReportFrom(inbound.rejected.error, { topic })
    : undefined;
}

/** A report as one string, independent of field order. */
function canonical(report: ErrorReport): string {
  return JSON.stringify([
    report.code,
    report.message,
    report.topic ?? null,
    report.requestId ?? null,
    report.issues,
  ]);
}

function tally(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

/** Publishes once on a connection of its own and expects the broker to close that connection. */
async function expectRefused(
  login: Login,
  topic: string,
  payload: Buffer,
  retain: boolean,
): Promise<void> {
  const client = await connectAs(mqttUrl, login, 'refused');
  client.on('error', () => {});
  const closed = new Promise<boolean>((resolve) => {
    client.once('close', () => resolve(true));
    setTimeout(() => resolve(false), WAIT_MS).unref();
  });
  client.publish(topic, payload, { qos: 1, retain }, () => {});
  const wasClosed = await closed;
  client.end(true);
  expect(wasClosed, `the broker closed the connection after a publish on ${topic}`).toBe(true);
}

/** The broker's publish refusals after the first `from`, once `count` of them are logged. */
async function refusalsSince(from: number, count: number): Promise<string[]> {
  // A refusal is logged before its connection is dropped, but stderr may trail the socket.
  const lines = () => broker.logMatching(/refused publish: /).slice(from);
  await waitUntil(`${count} refusals in the broker log`, () => lines().length >= count);
  return lines().map((line) => line.msg);
}

function expectAllAlive(): void {
  for (const child of [broker, scheduler, worker])
    expect(child.alive(), `${child.name} (pid ${child.pid}) is up\n${child.tail()}`).toBe(true);
}

function validInfer(requestId: string): InferRequest {
  const decision = defined(observer.decisionOf(FUZZ_UE), `the decision of ${FUZZ_UE}`);
  const input = defined(modelCuts(MODEL)[decision.cut], `cut ${decision.cut} of ${MODEL}`);
  return {
    requestId,
    epoch: decision.epoch,
    model: MODEL,
    cut: decision.cut,
    sample: 0,
    tensor: {
      dtype: 'float32',
      shape: [...input.shape],
      data: new Float32Array(input.bytes / 4).fill(0.25),
    },
    sentAt: Date.now(),
  };
}

beforeAll(async () => {
  assertCliBuilt();
  redis = new Redis(testRedisUrl());
  fuzzQueue = new Queue(ueQueueName(FUZZ_UE), { connection: redis, prefix: redisPrefix });
  broker = start(
    'broker',
    ['broker', '--host', '127.0.0.1', '--port', '0', '--max-payload', String(MAX_PAYLOAD)],
    { EDGESPLIT_TOKENS: tokens },
  );
  const listening = await broker.waitForLog(/listening on mqtt:\/\/127\.0\.0\.1:\d+/);
  mqttUrl = `mqtt://127.0.0.1:${listening.port}`;
  await broker.waitForLog(/ingress in the broker takes/);
  scheduler = startScheduler();
  const { username, password } = loginOf(WORKER);
  worker = start(
    'edge-worker',
    ['edge-worker', '--id', WORKER, '--units', '4', '--models', MODEL, '--speed-factor', '0.01'],
    { MQTT_URL: mqttUrl, MQTT_USERNAME: username, MQTT_PASSWORD: password },
  );
  await Promise.all([
    scheduler.waitForLog(/scheduler fuzz-sched started/),
    worker.waitForLog(/online with 4 units/),
  ]);
  observer = await Observer.open(mqttUrl, topicPrefix, loginOf('observer'));
  await Promise.all(
    UES.map(async (ue, index) => {
      const client = await connectAs(mqttUrl, loginOf(ue), ue);
      agents.set(ue, client);
      const status = { state: 'online', agentVersion: 'fuzz', at: Date.now() } as const;
      await client.publishAsync(ueTopic(topicPrefix, ue, 'status'), encodeMessage(status), RETAIN);
      await client.publishAsync(
        ueTopic(topicPrefix, ue, 'profile'),
        encodeMessage(profileOf(index)),
        RETAIN,
      );
      await client.publishAsync(
        ueTopic(topicPrefix, ue, 'link'),
        encodeMessage(linkOf(index)),
        RETAIN,
      );
    }),
  );
  await waitUntil('a decision with units for every UE', () =>
    UES.every((ue) => (observer.decisionOf(ue)?.units ?? 0) > 0),
  );
  await settled();
});

afterAll(async () => {
  for (const child of processes) child.kill();
  for (const client of agents.values()) client.end(true);
  await observer?.close().catch(() => undefined);
  await fuzzQueue?.close();
  await deleteKeys(testRedisUrl(), `${redisPrefix}:*`);
  await redis?.quit();
});

describe('the live system under bad input', () => {
  it.each(FUZZED_CHANNELS.map((channel, index) => [channel, index] as const))(
    `ue/{id}/%s: ${PER_TOPIC} fuzzed payloads, one error each, nothing changed`,
    async (channel, index) => {
      const started = performance.now();
      const marks: string[] = [];
      const mark = (what: string) =>
        marks.push(`${what} ${((performance.now() - started) / 1000).toFixed(1)}`);
      const topic = ueTopic(topicPrefix, FUZZ_UE, channel);
      const retain = channel !== 'infer';
      const payloads = fuzzPayloads(
        channel,
        DELIVERED,
        SEED + index,
        (bytes) => expectedReport(channel, topic, bytes) !== undefined,
      );
      const expected = tally(
        payloads.map((p) =>
          canonical(defined(expectedReport(channel, topic, p.bytes), 'the report of a payload')),
        ),
      );
      // The ingress (inside the broker) or the scheduler logs each rejected payload once.
      const consumer =
        channel === 'infer'
          ? { process: broker, component: 'ingress', pattern: /^rejected request on "/ }
          : {
              process: scheduler,
              component: 'scheduler',
              pattern: new RegExp(`^rejected "${topic}": `),
            };
      const rejections = () =>
        consumer.process
          .logMatching(consumer.pattern)
          .filter((line) => line.level === 'warn' && line.component === consumer.component).length;
      const before = {
        retained: await snapshot(),
        errors: observer.errors.length,
        decisions: observer.decisions.length,
        results: observer.results.length,
        solves: solveLines(),
        jobs: await jobTotal(),
        claims: await claimCount(),
        rejected: rejections(),
        refused: broker.logMatching(/refused publish: /).length,
      };

      mark('ready');
      const fuzzer = await connectAs(mqttUrl, loginOf(FUZZ_UE), 'fuzzer');
      let closed = false;
      fuzzer.on('close', () => {
        closed = true;
      });
      await Promise.all(
        payloads.map((p) => fuzzer.publishAsync(topic, p.bytes, { qos: 1, retain })),
      );
      expect(closed, 'the broker kept the connection of payloads within its limit').toBe(false);
      await fuzzer.endAsync();
      mark('published');
      for (const size of OVERSIZE)
        await expectRefused(loginOf(FUZZ_UE), topic, randomBytes(size), retain);
      const refused = await refusalsSince(before.refused, OVERSIZE.length);
      // Just above the limit: the publish check; far above: the frame guard, before buffering.
      expect(
        refused.map((line) => /reason="(payload|packet) of \d+ bytes exceeds/.exec(line)?.[1]),
      ).toEqual(['payload', 'payload', 'packet', 'packet']);

      const errorsOnTopic = () =>
        observer.errors.slice(before.errors).filter((e) => e.report.topic === topic);
      await waitUntil(
        `${DELIVERED} errors for ${topic}`,
        () => errorsOnTopic().length >= DELIVERED,
        // 2,000 rejections on a busy machine: several minutes at worst, seconds when quiet.
        4 * WAIT_MS,
      );
      mark('errors');
      await settled(300);
      const errors = observer.errors.slice(before.errors);
      expect(errors.every((e) => e.ue === FUZZ_UE && e.report.topic === topic)).toBe(true);
      expect(errors).toHaveLength(DELIVERED);
      const got = tally(errors.map((e) => canonical(e.report)));
      const missing = [...expected].filter(([report, n]) => (got.get(report) ?? 0) < n);
      const extra = [...got].filter(([report, n]) => (expected.get(report) ?? 0) < n);
      expect({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }).toEqual({
        missing: [],
        extra: [],
      });
      expect(rejections() - before.rejected).toBe(DELIVERED);

      expect(await snapshot()).toEqual(before.retained);
      expect(observer.decisions.length).toBe(before.decisions);
      expect(observer.results.length).toBe(before.results);
      expect(solveLines()).toBe(before.solves);
      expect(await jobTotal()).toBe(before.jobs);
      expect(await claimCount()).toBe(before.claims);
      expect(observer.malformed).toEqual([]);
      expectAllAlive();

      const families = [...tally(payloads.map((p) => p.family))]
        .map(([family, n]) => `${family} ${n}`)
        .join(', ');
      const bytes = payloads.reduce((sum, p) => sum + p.bytes.length, 0);
      mark('done');
      console.info(
        `${channel}: ${DELIVERED} payloads (${(bytes / 1e6).toFixed(1)} MB: ${families}) and ` +
          `${OVERSIZE.length} oversize; seconds: ${marks.join(', ')}`,
      );
    },
  );

  it("a UE's publishes on channels it does not own are refused by the broker, changing nothing", async () => {
    const before = {
      retained: await snapshot(),
      errors: observer.errors.length,
      decisions: observer.decisions.length,
      results: observer.results.length,
      solves: solveLines(),
      jobs: await jobTotal(),
      refused: broker.logMatching(/refused publish: /).length,
    };
    const forged = {
      epoch: 1e9,
      cut: 0,
      cutName: 'input',
      units: 1000,
      predictedMs: 0,
      solver: 'optimal',
    };
    const login = loginOf(FUZZ_UE);
    const own = (channel: 'decision' | 'result' | 'error' | 'infer') =>
      ueTopic(topicPrefix, FUZZ_UE, channel);
    const attempts: [string, Buffer, boolean][] = [
      [own('decision'), encodeMessage(forged), true],
      [own('decision'), randomBytes(64), false],
      [own('result'), randomBytes(64), false],
      [
        own('error'),
        encodeMessage({ code: 'INVALID_PAYLOAD', message: 'forged', issues: [] }),
        false,
      ],
      // An infer must never be retained (it would replay to a restarted ingress).
      [own('infer'), encodeMessage(validInfer('retained-infer')), true],
      // Another UE's topics.
      [
        ueTopic(topicPrefix, 'ue-a', 'link'),
        encodeMessage({ ...linkOf(0), uplinkMbps: 1e-3 }),
        true,
      ],
      [ueTopic(topicPrefix, 'ue-a', 'infer'), encodeMessage(validInfer('not-mine')), false],
    ];
    for (const [topic, payload, retain] of attempts)
      await expectRefused(login, topic, payload, retain);
    const refused = await refusalsSince(before.refused, attempts.length);
    expect(refused).toHaveLength(attempts.length);
    for (const line of refused)
      expect(line).toMatch(/may not publish here|this topic must not be retained/);
    await settled(300);
    expect(await snapshot()).toEqual(before.retained);
    expect(observer.errors.length).toBe(before.errors);
    expect(observer.decisions.length).toBe(before.decisions);
    expect(observer.results.length).toBe(before.results);
    expect(solveLines()).toBe(before.solves);
    expect(await jobTotal()).toBe(before.jobs);
    const ueA = new Queue(ueQueueName('ue-a'), { connection: redis, prefix: redisPrefix });
    expect(await jobTotal(ueA)).toBe(0);
    await ueA.close();
    expectAllAlive();
  });

  it('a restarted scheduler rebuilds the same state from the retained messages', async () => {
    const before = await snapshot();
    const epoch = observer.schedulerEpoch;
    expect(epoch).toBeTypeOf('number');
    const seen = { errors: observer.errors.length, decisions: observer.decisions.length };
    expect(await scheduler.stop()).toEqual({ code: 0, signal: null });
    scheduler = startScheduler();
    const first = await scheduler.waitForLog(/^epoch \d+:/);
    expect(first.msg).toMatch(new RegExp(`^epoch ${epoch}: .*; 0 published, 0 cleared$`));
    expect(first).toMatchObject({ level: 'info', component: 'scheduler', epoch, published: 0 });
    await settled();
    expect(scheduler.logMatching(/^rejected /)).toEqual([]);
    expect(observer.errors.length).toBe(seen.errors);
    expect(observer.decisions.length).toBe(seen.decisions);
    const after = await snapshot();
    const statusTopic = schedulerStatusTopic(topicPrefix);
    const status = (retained: Record<string, string>) => {
      const decoded = decodeMessage(
        'schedulerStatus',
        Buffer.from(defined(retained[statusTopic], 'the retained scheduler status'), 'base64'),
      );
      if (!decoded.ok) throw decoded.error;
      return {
        leaderId: decoded.value.leaderId,
        epoch: decoded.value.epoch,
        ues: decoded.value.ues,
      };
    };
    expect(status(after)).toEqual(status(before));
    const { [statusTopic]: _a, ...restAfter } = after;
    const { [statusTopic]: _b, ...restBefore } = before;
    expect(restAfter).toEqual(restBefore);
    expectAllAlive();
  });

  it('afterwards every process is up and responsive', async () => {
    expectAllAlive();
    // A valid request still gets its result from the edge worker, through the ingress.
    const jobs = await jobTotal();
    const request = validInfer(`alive-${randomBytes(3).toString('hex')}`);
    await mapGet(agents, FUZZ_UE, `the client of ${FUZZ_UE}`).publishAsync(
      ueTopic(topicPrefix, FUZZ_UE, 'infer'),
      encodeMessage(request),
      { qos: 1 },
    );
    await waitUntil('the result of a valid request', () =>
      observer.results.some((r) => r.result.requestId === request.requestId),
    );
    const result = defined(
      observer.results.find((r) => r.result.requestId === request.requestId),
      'the result of the valid request',
    );
    expect(result).toMatchObject({ ue: FUZZ_UE, result: { worker: WORKER, cut: request.cut } });
    expect(await jobTotal()).toBe(jobs + 1);
    // The scheduler still re-solves on a valid link change, with the next epoch.
    const epoch = defined(observer.schedulerEpoch, "the scheduler's epoch");
    const seen = observer.decisions.length;
    const from = scheduler.logs().length;
    await mapGet(agents, 'ue-a', 'the client of ue-a').publishAsync(
      ueTopic(topicPrefix, 'ue-a', 'link'),
      encodeMessage({ ...linkOf(0), uplinkMbps: 0.5 }),
      RETAIN,
    );
    await waitUntil('a new decision for ue-a', () =>
      observer.decisions.slice(seen).some((d) => d.ue === 'ue-a'),
    );
    expect(observer.decisionOf('ue-a')?.epoch).toBe(epoch + 1);
    await scheduler.waitForLog(new RegExp(`^epoch ${epoch + 1}:`), { from });
    expectAllAlive();
  });

  it('every process exits cleanly on SIGTERM', async () => {
    const [workerExit, schedulerExit] = await Promise.all([worker.stop(), scheduler.stop()]);
    expect(workerExit).toEqual({ code: 0, signal: null });
    expect(schedulerExit).toEqual({ code: 0, signal: null });
    expect(await broker.stop()).toEqual({ code: 0, signal: null });
  });
});
