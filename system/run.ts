/**
 * What `edgesplit up` runs: a stack (stack.ts) and a simulated fleet on it, until the fleet
 * ends; then every part is shut down.
 */
import {
  type FleetRunOptions,
  type FleetSummary,
  runFleet,
  type TraceSpec,
  type WindowSummary,
} from '../agents/index.js';
import type { Scenario } from '../dnn/index.js';
import { agentMetrics } from '../metrics/index.js';
import { type EdgeInference, type StackOptions, type SystemView, startStack } from './stack.js';

/** Real heads on the UEs and tails on the edge workers. */
export interface Inference extends EdgeInference {
  readonly headFor: NonNullable<FleetRunOptions['headFor']>;
}

export interface RunOptions extends Omit<StackOptions, 'inference' | 'topicPrefix'> {
  /** Real heads and tails with measured profiles; emulated (sleep the profile) without. */
  readonly realInference?: Inference;
  /** Pause of each UE between tasks. */
  readonly thinkTimeMs: number;
  readonly ues: number;
  readonly seed: number;
  readonly models?: readonly string[];
  /** What the fleet is drawn from. @defaultValue the `catalog` scenario */
  readonly scenario?: Scenario;
  readonly trace: TraceSpec;
  /** Seconds to run; without it, until `signal` aborts. */
  readonly durationS?: number;
  readonly signal?: AbortSignal;
  readonly summaryEveryS: number;
  /** How long tasks in flight at the end may take to finish. */
  readonly stopGraceMs: number;
  readonly onSummary: (window: WindowSummary, view: SystemView) => void;
  /** The UEs' warnings (`source`: the UE id); without `log`, the parts' too. */
  readonly onWarning: (source: string, error: Error) => void;
  /** Every UE's stats at the end. */
  readonly onFinished?: FleetRunOptions['onFinished'];
  /** Called once every part is up, before the fleet starts. */
  readonly onReady?: (info: {
    /** The broker's URL on `host`. */
    readonly mqttUrl: string;
    readonly redisPrefix: string;
    /** The dashboard's page, when `dashboardPort` is given. */
    readonly dashboardUrl?: string;
  }) => void;
}

export interface RunResult {
  readonly summary: FleetSummary;
  readonly view: SystemView;
}

/** Runs the whole system until the fleet ends, then shuts every part down (in reverse). */
export async function runStack(options: RunOptions): Promise<RunResult> {
  const real = options.realInference;
  const stack = await startStack({
    ...options,
    ...(real === undefined ? {} : { inference: real }),
  });
  try {
    const agents =
      options.metrics === undefined || options.ues === 0
        ? undefined
        : agentMetrics(options.metrics);
    options.onReady?.({
      mqttUrl: stack.publicUrl,
      redisPrefix: stack.redisPrefix,
      ...(stack.dashboardUrl === undefined ? {} : { dashboardUrl: stack.dashboardUrl }),
    });
    const summary = await runFleet({
      mqttUrl: stack.mqttUrl,
      topicPrefix: stack.topicPrefix,
      ues: options.ues,
      seed: options.seed,
      ...(options.models === undefined ? {} : { models: options.models }),
      ...(options.scenario === undefined ? {} : { scenario: options.scenario }),
      trace: options.trace,
      ...(options.durationS === undefined ? {} : { durationS: options.durationS }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      summaryEveryS: options.summaryEveryS,
      ...(real === undefined ? {} : { headFor: (model, device) => real.headFor(model, device) }),
      stopGraceMs: options.stopGraceMs,
      thinkTimeMs: options.thinkTimeMs,
      onSummary: (window) => options.onSummary(window, stack.view()),
      onWarning: options.onWarning,
      ...(agents === undefined ? {} : { onAgent: (agent) => agents.add(agent) }),
      ...(options.onFinished === undefined ? {} : { onFinished: options.onFinished }),
    });
    return { summary, view: stack.view() };
  } finally {
    await stack.close();
  }
}
