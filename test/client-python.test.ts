/**
 * Conformance of the Python device client (clients/python) against the live system, on the
 * embedded broker and on Mosquitto: its unittest cases run as real python3 processes against a
 * system of real processes (broker or Mosquitto with the ingress, scheduler, an ONNX edge worker).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelCuts } from '../dnn/index.js';
import { decodeMessage, type InferResult, type UeStats, ueTopic } from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { freePort } from '../system/net.js';
import { CliProcess, type Exit } from './cli-process.js';
import { guideExampleBytes } from './protocol-example.js';
import { type BrokerKind, RunningSystem } from './system-harness.js';
import { waitUntil } from './wait-until.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const clientDir = join(root, 'clients', 'python');
/** Debian's python3, where python3-paho-mqtt, python3-msgpack and python3-numpy install. */
const PYTHON = '/usr/bin/python3';

const dir = mkdtempSync(join(tmpdir(), 'edgesplit-python-'));
const modelFile = join(dir, 'tiny-cnn.json');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

beforeAll(() => {
  const probe = spawnSync(PYTHON, ['-c', 'import paho.mqtt, msgpack, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0)
    throw new Error(
      `the Python client needs python3-paho-mqtt, python3-msgpack and python3-numpy: ${probe.stderr}`,
    );
  // A slow device (10 ms per cut of tiny-cnn): offloading on a fast link pays.
  const cuts = modelCuts('tiny-cnn').map((cut, index) => ({
    name: cut.name,
    deviceMs: index * 10,
    bytes: cut.bytes,
    shape: cut.shape,
  }));
  writeFileSync(modelFile, JSON.stringify({ model: 'tiny-cnn', batch: 2, resultBytes: 40, cuts }));
});

/** Runs one unittest case of the client's conformance suite; returns its output. */
function conformance(test: string, env: NodeJS.ProcessEnv): string {
  const run = spawnSync(
    PYTHON,
    ['-m', 'unittest', '-v', `tests.test_conformance.Conformance.${test}`],
    {
      cwd: clientDir,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
  const output = `${run.stdout}${run.stderr}`;
  expect(run.status, output).toBe(0);
  expect(output).toMatch(/\nOK\n/);
  expect(output).not.toMatch(/skipped/);
  return output;
}

/** A UE `cam-1` that joins, says "ready" once it has a decision, and leaves when stdin closes. */
const STAY_ONLINE = `
import sys
from edgesplit_client import ModelDescription, UeClient
url, prefix, model_file = sys.argv[1:4]
ue = UeClient(url, "cam-1", ModelDescription.load(model_file), {"uplinkMbps": 200.0, "rttMs": 1.0}, prefix=prefix)
ue.start()
if ue.wait_decision(timeout_s=30) is None:
    sys.exit("no decision")
print("ready", flush=True)
sys.stdin.read()
ue.stop()
`;

const CASES = [
  'test_fifty_tasks_are_answered_once_each',
  'test_a_link_change_is_answered_by_a_new_decision',
  'test_malformed_requests_are_answered_with_errors_naming_the_problem',
  'test_a_killed_client_gets_an_answer_for_each_pending_request_in_its_session',
];

describe.each<BrokerKind>(['embedded', 'mosquitto'])(
  'the Python client on the %s broker',
  (broker) => {
    let system: RunningSystem;
    beforeAll(async () => {
      system = await RunningSystem.start({
        broker,
        workers: 1,
        units: 4,
        workerArgs: ['--executor', 'onnx', '--models', 'tiny-cnn'],
      });
    }, 120_000);
    afterAll(async () => {
      expect(await system?.stop()).toEqual([]);
    });

    const env = () => ({
      EDGESPLIT_TEST_MQTT_URL: system.mqttUrl,
      EDGESPLIT_TEST_PREFIX: system.topicPrefix,
      EDGESPLIT_TEST_MODEL_FILE: modelFile,
    });

    for (const name of CASES)
      it(name.replace('test_', '').replaceAll('_', ' '), () => {
        conformance(name, env());
      });

    it('publishes ue/{id}/stats that the protocol schema accepts; the last, at its stop, counts every task it ran, none failed, with its latency quantiles and prediction', async () => {
      const ue = `py-stats-${broker}`;
      const listener = await connectMqtt({
        url: system.mqttUrl,
        clientId: `stats-${process.pid}-${broker}`,
      });
      const valid: UeStats[] = [];
      const invalid: string[] = [];
      listener.on('message', (_topic, payload) => {
        const decoded = decodeMessage('stats', payload);
        if (decoded.ok) valid.push(decoded.value);
        else invalid.push(decoded.error.message);
      });
      try {
        await listener.subscribeAsync(ueTopic(system.topicPrefix, ue, 'stats'), { qos: 1 });
        const tasks = 10;
        const device = spawn(
          PYTHON,
          [
            ...['-m', 'edgesplit_client', '--url', system.mqttUrl, '--prefix', system.topicPrefix],
            ...['--id', ue, '--model-file', modelFile, '--uplink-mbps', '200', '--rtt-ms', '1'],
            ...['--tasks', String(tasks), '--stats-interval-s', '0.2'],
          ],
          { cwd: clientDir, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let output = '';
        device.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        device.stderr.on('data', (chunk: Buffer) => {
          output += chunk.toString();
        });
        const code = await new Promise<number | null>((resolve) => device.once('exit', resolve));
        expect(code, output).toBe(0);
        await waitUntil('its last stats', () => valid.some((s) => s.totalTasks === tasks));
        expect(invalid).toEqual([]);
        const last = valid.find((s) => s.totalTasks === tasks);
        expect(last?.tasks).toBe(tasks);
        expect(last?.failed).toBe(0);
        expect(last?.windowMs).toBe(30_000);
        expect(last?.p50Ms).toBeGreaterThan(0);
        expect(last?.p99Ms).toBeGreaterThanOrEqual(last?.p50Ms ?? Number.POSITIVE_INFINITY);
        expect(last?.lastMs).toBeGreaterThan(0);
        expect(last?.predictedMs).toBeGreaterThan(0);
        // Every message summarises no more tasks than the device had finished.
        for (const stats of valid) expect(stats.tasks).toBeLessThanOrEqual(stats.totalTasks);
      } finally {
        await listener.endAsync(true);
      }
    });

    it("mosquitto_pub -f publishing the protocol guide's infer example gets a result", async () => {
      // cam-1 joins (birth, profile and link) and stays online, so that it has units.
      const device = spawn(
        PYTHON,
        ['-c', STAY_ONLINE, system.mqttUrl, system.topicPrefix, modelFile],
        { cwd: clientDir, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        device.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('ready')) resolve();
        });
        device.once('exit', (code) => reject(new Error(`the cam-1 client exited (${code})`)));
      });
      const file = join(dir, 'infer.bin');
      writeFileSync(file, guideExampleBytes());
      const listener = await connectMqtt({ url: system.mqttUrl, clientId: `guide-${process.pid}` });
      const results: InferResult[] = [];
      listener.on('message', (_topic, payload) => {
        const decoded = decodeMessage('result', payload);
        if (decoded.ok) results.push(decoded.value);
      });
      try {
        await listener.subscribeAsync(ueTopic(system.topicPrefix, 'cam-1', 'result'), { qos: 1 });
        const url = new URL(system.mqttUrl);
        const pub = spawnSync(
          'mosquitto_pub',
          [
            '-h',
            url.hostname,
            '-p',
            url.port,
            '-q',
            '1',
            '-t',
            ueTopic(system.topicPrefix, 'cam-1', 'infer'),
            '-f',
            file,
          ],
          { encoding: 'utf8' },
        );
        expect(pub.status, pub.stderr).toBe(0);
        await waitUntil('the example answered', () =>
          results.some((r) => r.requestId === 'cam-1-0-0'),
        );
        const result = results.find((r) => r.requestId === 'cam-1-0-0');
        expect(result?.tensor.shape).toEqual([1, 10]);
        expect(result?.cut).toBe(7);
      } finally {
        await listener.endAsync(true);
      }
    });
  },
);

describe('the Python client on a broker with authentication', () => {
  it("logs in with a key derived from the fleet key, and not with another UE's; the broker exits 0 on SIGTERM", async () => {
    const port = await freePort();
    const fleetKey = 'f'.repeat(48);
    const broker = CliProcess.start(
      'broker',
      ['broker', '--host', '127.0.0.1', '--port', String(port), '--no-ingress'],
      {
        EDGESPLIT_UE_FLEET_KEY: fleetKey,
      },
    );
    let exit: Exit | undefined;
    try {
      await broker.waitForLog(/listening/);
      conformance('test_a_key_derived_from_the_fleet_key_logs_in_and_a_wrong_one_does_not', {
        EDGESPLIT_TEST_MQTT_URL: `mqtt://127.0.0.1:${port}`,
        EDGESPLIT_TEST_MODEL_FILE: modelFile,
        EDGESPLIT_TEST_FLEET_KEY: fleetKey,
      });
    } finally {
      exit = await broker.stop(30_000);
    }
    // SIGTERM ends it by exiting on its own, not by the signal or a SIGKILL.
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
