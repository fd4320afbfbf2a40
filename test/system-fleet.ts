import { afterEach, expect } from 'vitest';
import { type AgentOptions, startAgent, type TaskResult, type UeAgent } from '../agents/index.js';
import { defined } from '../runtime/defined.js';
import { assertStoppedCleanly } from './process-harness.js';
import type { RunningSystem } from './system-harness.js';

export interface FleetUe {
  readonly agent: UeAgent;
  /** Results the application received, by requestId. */
  readonly delivered: Map<string, number>;
  readonly tasks: TaskResult[];
  /** The agent's warnings and error reports, for failure messages. */
  readonly warnings: string[];
}

const MODELS = ['resnet18', 'mobilenet-v2', 'squeezenet1.1', 'alexnet'] as const;

/**
 * `count` agents on the system: slow devices (2 GFLOP/s) on 10 Mbps links, batch 1, so that each
 * offloading task is exactly one request. Links this slow keep the real bytes moved by the test
 * machine small next to the emulated transfer times.
 */
export async function startFleet(
  system: RunningSystem,
  count: number,
  extra: Partial<AgentOptions> | ((index: number) => Partial<AgentOptions>) = {},
): Promise<FleetUe[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, index) => {
      const agent = await startAgent({
        id: `ue-${String(index + 1).padStart(2, '0')}`,
        model: defined(MODELS[index % MODELS.length], 'a model'),
        device: { gflops: 2 },
        batch: 1,
        link: { uplinkMbps: 10, downlinkMbps: 20, rttMs: 10 },
        mqttUrl: system.mqttUrl,
        topicPrefix: system.topicPrefix,
        clientId: `${system.redisPrefix}-ue-${index + 1}`,
        requestTimeoutMs: 15_000,
        ...(typeof extra === 'function' ? extra(index) : extra),
      } as AgentOptions);
      const ue: FleetUe = { agent, delivered: new Map(), tasks: [], warnings: [] };
      agent.on('warning', (error) => ue.warnings.push(`${Date.now()} ${error.message}`));
      agent.on('error', (report) =>
        ue.warnings.push(`${Date.now()} error report ${JSON.stringify(report)}`),
      );
      agent.on('status', (status) =>
        ue.warnings.push(`${Date.now()} status ${JSON.stringify(status)}`),
      );
      agent.on('result', (result) =>
        ue.delivered.set(result.requestId, (ue.delivered.get(result.requestId) ?? 0) + 1),
      );
      return ue;
    }),
  );
}

/**
 * Runs tasks on every UE until `budget` offloaded requests have been sent (batch 1: an offloaded
 * task is one request); returns how many were sent, which exceeds `budget` only when a UE that
 * started a task as local was given units in between. A UE whose decision offloads reserves a request before its
 * task (handing it back if the task ran locally after all); a UE running locally keeps going
 * without one, since it may be given units later.
 */
export async function runRequests(
  fleet: readonly FleetUe[],
  budget: number,
  thinkMs = 0,
): Promise<number> {
  let left = budget;
  let sent = 0;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  await Promise.all(
    fleet.map(async (ue) => {
      while (sent < budget) {
        const decision = ue.agent.decision;
        const offloads = decision !== undefined && decision.cut < lastCut(ue);
        if (offloads && left === 0) {
          await pause(5);
          continue;
        }
        if (offloads) left--;
        const task = await ue.agent.runTask();
        ue.tasks.push(task);
        if (task.cut < lastCut(ue)) sent++;
        if (offloads && task.cut === lastCut(ue)) left++;
        await pause(thinkMs);
      }
    }),
  );
  return sent;
}

function lastCut(ue: FleetUe): number {
  return ue.agent.profile.cuts.length - 1;
}

/** Whether every UE's decision offloads (a cut before its model's output). */
export function everyUeOffloads(fleet: readonly FleetUe[]): boolean {
  return fleet.every((ue) => {
    const decision = ue.agent.decision;
    return decision !== undefined && decision.cut < ue.agent.profile.cuts.length - 1;
  });
}

export async function stopFleet(fleet: readonly FleetUe[]): Promise<void> {
  await Promise.all(fleet.map((ue) => ue.agent.stop({ graceMs: 5000 })));
}

/** Relative prediction error |measured - predicted| / predicted of one UE's offloaded tasks. */
export function predictionErrors(ue: FleetUe): number[] {
  return ue.tasks
    .filter((task) => task.cut < lastCut(ue) && task.predictedMs > 0)
    .map((task) => Math.abs(task.measuredMs - task.predictedMs) / task.predictedMs);
}

/** What a system test started, stopped after each test by `useSystem`. */
export interface SystemUnderTest {
  system: RunningSystem | undefined;
  fleet: FleetUe[];
  /** Stops what the system ran on (a broker of the test's own), once the system has stopped. */
  afterSystem?: (() => Promise<void>) | undefined;
}

/**
 * Registers an afterEach that stops the test's fleet and system processes (then `afterSystem`),
 * and fails the test
 * when one of them did not shut down cleanly (it needed SIGKILL, or died of the signal).
 */
export function useSystem(): SystemUnderTest {
  const started: SystemUnderTest = { system: undefined, fleet: [] };
  afterEach(async () => {
    const violations = [...(started.system?.observer?.contractViolations ?? [])];
    await stopFleet(started.fleet);
    started.fleet = [];
    const unclean = (await started.system?.stop()) ?? [];
    started.system = undefined;
    const after = started.afterSystem;
    started.afterSystem = undefined;
    await after?.();
    assertStoppedCleanly(unclean);
    expect(violations, 'messages that do not conform to docs/asyncapi.yaml').toEqual([]);
  });
  return started;
}
