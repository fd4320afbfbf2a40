/**
 * `edgesplit lab` for real: network namespaces, veth pairs, tc tbf and the stack as processes.
 * Needs root and `ip netns`; without them the tests are skipped with the reason, except under
 * CI=true, where they fail.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildNetwork, labTopology, shape, teardown } from '../cli/lab/netns.js';
import { modelCuts } from '../dnn/index.js';
import { median } from '../stats/quantile.js';
import { freePort } from '../system/net.js';
import { assertCliBuilt, CliProcess } from './cli-process.js';
import { cliPath, runCli } from './cli-run.js';
import { readyz, sample } from './metrics-scrape.js';
import { waitUntil } from './wait-until.js';

function labUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const ip = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (ip.status !== 0) return `no ip netns: ${ip.stderr || ip.error?.message}`;
  const tc = spawnSync('tc', ['-V'], { encoding: 'utf8' });
  if (tc.status !== 0) return 'no tc';
  return undefined;
}

const unavailable = labUnavailable();
if (unavailable !== undefined && process.env.CI === 'true')
  throw new Error(`the lab tests need root, ip netns and tc (CI=true): ${unavailable}`);
if (unavailable !== undefined)
  process.stderr.write(`lab.test.ts: skipped, the lab is unavailable here: ${unavailable}\n`);

interface LabReport {
  ues: number;
  requests: number;
  ok: number;
  failed: number;
  links: {
    ue: string;
    shapedMbps: number;
    estimatedMbps: number | null;
    referenceMbps?: number | null;
  }[];
  fallbacks: { ue: string; tasks: number }[];
  adaptations: {
    ue: string;
    changeAtMs: number;
    newDecisionAfterMs: number | null;
    estimateAfterMs: number | null;
    oldCut: number | null;
    newCut: number | null;
  }[];
  prediction: {
    offloadingP50: number | null;
    localP50: number | null;
    perUe: { ue: string; cut: number | null; offloading: boolean; errorP50: number | null }[];
  };
}

function lab(args: readonly string[]): { code: number; report: LabReport; stderr: string } {
  assertCliBuilt();
  const run = runCli(['lab', '--json', ...args]);
  let report: LabReport;
  try {
    report = JSON.parse(run.stdout) as LabReport;
  } catch {
    throw new Error(`lab printed no report (exit ${run.code}): ${run.stderr.slice(-2000)}`);
  }
  return { code: run.code, report, stderr: run.stderr };
}

const labNamespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith('eslab-'));

const RESNET_LOCAL = modelCuts('resnet18').length - 1;

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * In a UE namespace: an AgentSession (`linkMode: 'measure'`) starts a 1 MiB probe, then
 * publishes its link; an observer subscribed to the link topic notes when the link arrives.
 * Prints when the probe was acknowledged and when the link arrived, ms after the probe began.
 */
const LINK_BEHIND_UPLOAD = `
import { performance } from 'node:perf_hooks';
import mqtt from 'mqtt';
import { AgentSession } from './agents/agent-session.ts';
import { resolveAgentOptions } from './agents/index.ts';
const url = process.env.MQTT_URL;
const config = resolveAgentOptions({ id: 'ue-1', model: 'resnet18', device: 'rpi3-cpu', linkMode: 'measure', mqttUrl: url });
const noop = () => {};
const session = await AgentSession.open(config, { decision: noop, result: noop, error: noop, invalid: noop, status: noop, publishFailed: (error) => process.stderr.write(error.message + '\\n') }, () => ({ profile: config.profile, link: undefined }));
const observer = await mqtt.connectAsync(url, { clientId: 'observer' });
let linkAt;
observer.on('message', () => { linkAt ??= performance.now(); });
await observer.subscribeAsync(session.topic('link'), { qos: 1 });
const start = performance.now();
const probe = session.publishProbe(1024 * 1024).then(() => performance.now());
session.publishLink({ uplinkMbps: 1, rttMs: 1, measuredAt: Date.now(), source: 'measured' });
const probeAt = await probe;
for (let k = 0; k < 200 && linkAt === undefined; k++) await new Promise((r) => setTimeout(r, 100));
process.stdout.write(JSON.stringify({ linkConnection: session.linkConnected, probeMs: probeAt - start, linkMs: linkAt === undefined ? null : linkAt - start }) + '\\n');
await session.close();
await observer.endAsync();
`;

describe.skipIf(unavailable !== undefined)('edgesplit lab (root, namespaces, tc)', () => {
  it('estimates uplinks shaped at 2, 10 and 50 Mbps within 15% of the shaped rate after 5 s of traffic, losing no request', () => {
    const { code, report, stderr } = lab([
      '--ues',
      '3',
      '--uplink-mbps',
      '2,10,50',
      '--device',
      'rpi3-cpu',
      '--duration',
      '5',
      '--reference',
    ]);
    expect(code, stderr).toBe(0);
    expect(report.failed).toBe(0);
    expect(report.links.map((link) => link.shapedMbps)).toEqual([2, 10, 50]);
    for (const { ue, shapedMbps, estimatedMbps, referenceMbps } of report.links)
      process.stderr.write(
        `lab.test.ts: ${ue} shaped ${shapedMbps} Mbps, estimated ${estimatedMbps}, bulk TCP ${referenceMbps}\n`,
      );
    for (const { ue, shapedMbps, estimatedMbps, referenceMbps } of report.links) {
      expect(estimatedMbps, `${ue} has an estimate`).not.toBeNull();
      const error = Math.abs((estimatedMbps ?? 0) - shapedMbps) / shapedMbps;
      expect(error, `${ue}: ${estimatedMbps} on ${shapedMbps}`).toBeLessThanOrEqual(0.15);
      // The reference went through the shaped link: tbf lets no more through.
      expect(referenceMbps, `${ue} has a reference`).toBeTypeOf('number');
      expect(referenceMbps ?? 0, `${ue}: bulk TCP on ${shapedMbps}`).toBeLessThanOrEqual(
        shapedMbps * 1.05,
      );
    }
  }, 300_000);

  it('after a 20 -> 2 Mbps change every UE that offloaded gets a new decision with a higher epoch that moves its cut to a smaller tensor or local; tasks in flight complete, no request lost', () => {
    const { code, report, stderr } = lab([
      '--ues',
      '3',
      '--uplink-mbps',
      '20',
      '--device',
      'rpi3-cpu',
      '--trace',
      'steps:8=2',
      '--duration',
      '25',
    ]);
    expect(code, stderr).toBe(0);
    expect(report.failed).toBe(0);
    expect(report.ok).toBeGreaterThan(0);
    const bytes = (cut: number | null | undefined) =>
      cut === RESNET_LOCAL ? 0 : (modelCuts('resnet18')[cut ?? 0]?.bytes ?? Number.NaN);
    expect(report.adaptations.map((change) => change.ue).sort()).toEqual(
      report.links.map((link) => link.ue).sort(),
    );
    for (const change of report.adaptations)
      process.stderr.write(
        `lab.test.ts: ${change.ue} cut ${change.oldCut} -> ${change.newCut} ${change.newDecisionAfterMs} ms after the change (first estimate after ${change.estimateAfterMs} ms)\n`,
      );
    // A UE the scheduler kept local before the change (it may, on a busy machine, with three
    // UEs on four units) has nothing to adapt; every other one must.
    const offloading = report.adaptations.filter((change) => change.oldCut !== RESNET_LOCAL);
    expect(offloading.length, 'some UE offloaded before the change').toBeGreaterThan(0);
    for (const change of offloading) {
      const { ue } = change;
      expect(report.links.find((link) => link.ue === ue)?.shapedMbps).toBe(2);
      expect(change.oldCut, `${ue} offloaded before the change`).toBeLessThan(RESNET_LOCAL);
      expect(change.newDecisionAfterMs, `${ue}: a new decision came`).not.toBeNull();
      expect(bytes(change.newCut), `${ue}: cut ${change.oldCut} -> ${change.newCut}`).toBeLessThan(
        bytes(change.oldCut),
      );
    }
  }, 300_000);

  it('runs the tail of a task on the device when its upload runs late after the uplink falls from 20 to 1 Mbps; every request is still answered', () => {
    const { code, report, stderr } = lab([
      ...['--ues', '1', '--uplink-mbps', '20', '--device', 'rpi3-cpu', '--think-ms', '0'],
      ...['--trace', 'steps:6=1', '--duration', '14'],
    ]);
    expect(code, stderr).toBe(0);
    expect(report.failed).toBe(0);
    // Uploads go back to back: one is on the wire at the fall, or starts on the slow link.
    expect(report.fallbacks).toEqual([{ ue: 'ue-001', tasks: expect.any(Number) }]);
    expect(report.fallbacks[0]?.tasks).toBeGreaterThanOrEqual(1);
    expect(report.adaptations[0]?.newDecisionAfterMs).not.toBeNull();
  }, 300_000);

  it("reports the prediction error of each UE on real links, offloading UEs apart from local ones: every offloading UE has one, below 100% (a model that missed the link or its units would be off by more; the 15% aim is bench:network's, since this machine's load moves it)", () => {
    const { code, report, stderr } = lab([
      '--ues',
      '3',
      '--uplink-mbps',
      '10,20,40',
      '--device',
      'rpi3-cpu',
      '--think-ms',
      '300',
      '--duration',
      '20',
    ]);
    expect(code, stderr).toBe(0);
    for (const { ue, cut, offloading, errorP50 } of report.prediction.perUe)
      process.stderr.write(
        `lab.test.ts: ${ue} cut ${cut} ${offloading ? 'offloading' : 'local'}, median prediction error ${errorP50}\n`,
      );
    const offloading = report.prediction.perUe.filter((ue) => ue.offloading);
    expect(offloading.length, 'some UE offloads').toBeGreaterThan(0);
    for (const { ue, errorP50 } of offloading) {
      expect(errorP50, `${ue}: a prediction error`).not.toBeNull();
      expect(errorP50, ue).toBeGreaterThanOrEqual(0);
      expect(errorP50, ue).toBeLessThan(1);
    }
    expect(report.prediction.offloadingP50).toBe(
      median(offloading.map(({ errorP50 }) => errorP50 ?? 0)),
    );
    const local = report.prediction.perUe.filter((ue) => !ue.offloading);
    expect(report.prediction.localP50 === null).toBe(local.every((ue) => ue.errorP50 === null));
  }, 300_000);

  it("serves its edge's /metrics, /healthz and /readyz on the host while it runs: ready, one leading scheduler solving for every UE on every unit, requests accepted, units declared; closed after", async () => {
    assertCliBuilt();
    const port = await freePort();
    // A faster link than the class's and a slower device than the default: the UEs offload.
    const args = [
      ...['--ues', '2', '--uplink-mbps', '20', '--device', 'rpi3-cpu', '--duration', '30'],
      ...['--json', '--metrics-port', String(port)],
    ];
    const run = CliProcess.start('lab', ['lab', ...args]);
    try {
      await run.waitFor(
        'stderr',
        new RegExp(`"msg":"edgesplit lab: metrics on http://127\\.0\\.0\\.1:${port}/metrics"`),
      );
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      await waitUntil(
        'the lab edge ready',
        async () => (await readyz(port)).status === 200,
        120_000,
      );
      const series = (name: string) => sample(port, name);
      await waitUntil(
        'both UEs in a solve and requests accepted',
        async () => {
          const ues = await series('edgesplit_scheduler_ues');
          const accepted = await series('edgesplit_ingress_requests_total{outcome="accepted"}');
          return ues === 2 && (accepted ?? 0) > 0;
        },
        120_000,
      );
      expect(await series('edgesplit_scheduler_leader')).toBe(1);
      expect(await series('edgesplit_scheduler_units')).toBe(4);
      expect(await series('edgesplit_scheduler_epoch')).toBeGreaterThanOrEqual(1);
      expect(await series('edgesplit_fleet_predicted_max_latency_seconds')).toBeGreaterThan(0);
      for (const ue of ['ue-001', 'ue-002'])
        expect(await series(`edgesplit_ue_decision_units{ue="${ue}"}`), ue).toBeGreaterThanOrEqual(
          0,
        );
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(text).toMatch(/^edgesplit_edge_units_declared\{worker="[^"]+"\} 4$/m);
      expect(text).toMatch(/^edgesplit_mqtt_connected\{component="scheduler"\} 1$/m);
      const exit = await run.exited;
      expect(exit.code, run.tail()).toBe(0);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    } finally {
      await run.kill();
    }
  }, 300_000);

  it("publishes the link on a connection of its own: it arrives while a 1 MiB upload is still on the agent's 1 Mbps uplink", async () => {
    assertCliBuilt();
    const topology = labTopology(1);
    const [ue] = topology.ues;
    if (ue === undefined) throw new Error('no UE in the topology');
    const started: ReturnType<typeof spawn>[] = [];
    try {
      await buildNetwork(topology, [{ uplinkMbps: 1, downlinkMbps: 100 }]);
      const broker = spawn(
        'ip',
        [
          ...['netns', 'exec', topology.edgeNs, process.execPath, cliPath, 'broker'],
          ...['--no-auth', '--no-ingress', '--no-retained-store'],
        ],
        { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      started.push(broker);
      await new Promise<void>((resolve, reject) => {
        const lines =
          broker.stderr === null ? undefined : createInterface({ input: broker.stderr });
        lines?.on('line', (line) => {
          if (line.includes('listening on')) resolve();
        });
        broker.once('exit', (code) => reject(new Error(`the broker exited (${code})`)));
      });
      const args = ['netns', 'exec', ue.ns, process.execPath, '--import', 'tsx'];
      const client = spawn('ip', [...args, '--input-type=module', '-e', LINK_BEHIND_UPLOAD], {
        cwd: root,
        env: { ...process.env, MQTT_URL: `mqtt://${ue.edgeAddress}:1883` },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(client);
      let stdout = '';
      let stderr = '';
      client.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      client.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const code = await new Promise((resolve) => client.once('exit', resolve));
      expect(code, stderr).toBe(0);
      const timing = JSON.parse(stdout) as {
        linkConnection: boolean;
        probeMs: number;
        linkMs: number | null;
      };
      process.stderr.write(`lab.test.ts: link connection ${JSON.stringify(timing)}\n`);
      expect(timing.linkConnection).toBe(true);
      // 1 MiB at 1 Mbps is 8.4 s on the wire; on the agent's connection the link would follow it.
      expect(timing.linkMs).not.toBeNull();
      expect(timing.linkMs ?? Number.POSITIVE_INFINITY).toBeLessThan(timing.probeMs);
    } finally {
      for (const child of started) child.kill('SIGKILL');
      await teardown(topology);
    }
  }, 120_000);

  it('keeps carrying bulk transfers at the new rate each time their uplink is cut from 20 to 2 Mbps mid-transfer (no queued packet outgrows the smaller bucket)', async () => {
    const topology = labTopology(1);
    const [ue] = topology.ues;
    if (ue === undefined) throw new Error('no UE in the topology');
    const started: ReturnType<typeof spawn>[] = [];
    const inNs = (ns: string, script: string) => {
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(child);
      return child;
    };
    // Bytes tbf has sent on the UE's uplink so far.
    const sent = () => {
      const out = execFileSync('tc', ['-n', ue.ns, '-s', 'qdisc', 'show', 'dev', ue.ueIf], {
        encoding: 'utf8',
      });
      return Number(/Sent (\d+) bytes/.exec(out)?.[1] ?? Number.NaN);
    };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    try {
      await buildNetwork(topology, [{ uplinkMbps: 20, downlinkMbps: 100 }]);
      const sink = inNs(
        topology.edgeNs,
        `require('node:net').createServer((s) => s.resume()).listen(5000, '${ue.edgeAddress}', () => console.log('ready'));`,
      );
      await new Promise<void>((resolve, reject) => {
        sink.stdout?.once('data', () => resolve());
        sink.once('exit', (code) => reject(new Error(`the sink exited (${code})`)));
      });
      // Three connections that keep the uplink full for as long as the test runs: more of
      // their packets wait in tbf's queue at each cut.
      inNs(
        ue.ns,
        `const b = Buffer.alloc(65536); for (let k = 0; k < 3; k++) { const s = require('node:net').connect(5000, '${ue.edgeAddress}'); const go = () => { while (s.write(b)); }; s.on('drain', go); s.on('connect', go); }`,
      );
      const windowMs = 1_500;
      const expected = ((2e6 / 8) * windowMs) / 1000;
      const carried: number[] = [];
      // Whether a cut strands a packet depends on what is queued at that instant: several cuts.
      for (let cut = 0; cut < 4; cut++) {
        await shape(ue.ns, ue.ueIf, 20);
        const at20 = sent();
        await waitUntil('the transfers on the 20 Mbps uplink', () => sent() > at20 + 1_000_000);
        await shape(ue.ns, ue.ueIf, 2);
        // The queue of the 20 Mbps link drains at 2 Mbps first (at most 200 ms of 20 Mbps).
        await pause(2_200);
        const before = sent();
        await pause(windowMs);
        carried.push(sent() - before);
      }
      process.stderr.write(
        `lab.test.ts: bytes in ${windowMs} ms after each cut to 2 Mbps: ${carried.join(', ')} (the rate: ${expected})\n`,
      );
      // tbf enforces the rate itself: at most the rate (and its bucket); at least half of it,
      // which senders on any busy machine keep up with; a stalled link sends nothing.
      for (const bytes of carried) {
        expect(bytes).toBeGreaterThan(expected / 2);
        expect(bytes).toBeLessThan(expected * 1.2);
      }
    } finally {
      for (const child of started) child.kill('SIGKILL');
      await teardown(topology);
    }
  }, 120_000);

  it('starts cleanly after a lab was killed with SIGKILL, removing what it left', async () => {
    assertCliBuilt();
    const killed = CliProcess.start('lab', ['lab', '--ues', '1', '--duration', '60']);
    const owner = `eslab-${killed.pid.toString(36)}-`;
    await killed.waitForLog(/UEs running/, { timeoutMs: 120_000 });
    const left = labNamespaces().filter((ns) => ns.startsWith(owner));
    expect(left.length).toBe(2); // the edge's and the UE's
    const inside = left.flatMap((ns) =>
      execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').filter(Boolean),
    );
    await killed.kill();
    expect(labNamespaces().filter((ns) => ns.startsWith(owner))).toEqual(left);

    const { code, report, stderr } = lab(['--ues', '1', '--duration', '3']);
    expect(code, stderr).toBe(0);
    expect(report.failed).toBe(0);
    expect(stderr).toMatch(/removed what a lab no longer running left: /);
    for (const ns of left) expect(stderr).toContain(ns);
    expect(labNamespaces().filter((ns) => ns.startsWith(owner))).toEqual([]);
    const alive = inside.filter((pid) => {
      try {
        process.kill(Number(pid), 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  }, 300_000);
});
