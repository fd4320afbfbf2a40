import type { Decision, Profile, Tensor } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import type { AgentConfig } from './agent-options.js';
import type { DecisionGate } from './decision-gate.js';
import { AgentStoppedError, NoDecisionError } from './errors.js';
import type { RequestOutcome } from './request-tracker.js';

/** A sample of a task that got no result. */
export interface SampleFailure {
  readonly sample: number;
  readonly requestId: string;
  /** `timeout`: no result after every retry; `rejected`: named on `ue/{ue}/error`. */
  readonly reason: 'timeout' | 'rejected';
  readonly message: string;
}

/** What a task runs under: a decision, or the whole model on the device. */
export interface TaskPlan {
  /** Epoch of the decision; null for a local run before any decision. */
  readonly epoch: number | null;
  readonly cut: number;
  readonly cutName: string;
  readonly units: number;
  /** The decision's predicted latency (B·deviceMs[L] for a local run before any decision). */
  readonly predictedMs: number;
}

/** One task: `batch` samples under one decision. */
export interface TaskResult extends TaskPlan {
  /** Task number, from 1. */
  readonly task: number;
  /** Task start to its last result downloaded (to its head's end when local). */
  readonly measuredMs: number;
  /** Re-publications after timeouts, over every sample. */
  readonly retries: number;
  /** Every sample got its result. */
  readonly ok: boolean;
  /** The model's output per sample, in sample order; null for a failed sample. */
  readonly outputs: readonly (Tensor | null)[];
  readonly failures: readonly SampleFailure[];
  /** Offloaded, but its upload ran late and its tail ran on the device (see `localFallback`). */
  readonly fallback?: true;
}

export function planOf(decision: Decision): TaskPlan {
  const { epoch, cut, cutName, units, predictedMs } = decision;
  return { epoch, cut, cutName, units, predictedMs };
}

/** Everything on the device, before any decision: docs/model.md's T_i(L, 0) = B·deviceMs[L]. */
export function localPlan(profile: Profile): TaskPlan {
  const last = profile.cuts.length - 1;
  const cut = defined(profile.cuts[last], `the last cut of model "${profile.model}"`);
  return {
    epoch: null,
    cut: last,
    cutName: cut.name,
    units: 0,
    predictedMs: profile.batch * cut.deviceMs,
  };
}

/**
 * The plan a task starts under: the current decision, else the first to arrive within the
 * config's `decisionWaitMs` (or the whole model on the device, when `beforeDecision` is 'local').
 */
export async function planTask(
  gate: DecisionGate,
  config: Pick<AgentConfig, 'id' | 'profile' | 'beforeDecision' | 'decisionWaitMs'>,
  signal: AbortSignal,
): Promise<TaskPlan> {
  const current = gate.current;
  if (current !== undefined) return planOf(current);
  if (config.beforeDecision === 'local') return localPlan(config.profile);
  const decision = await gate.next(config.decisionWaitMs, signal);
  if (decision !== undefined) return planOf(decision);
  if (signal.aborted) throw new AgentStoppedError(config.id);
  throw new NoDecisionError(config.id, config.decisionWaitMs);
}

/** The task's side of its samples' outcomes (in sample order; none of them cancelled). */
export interface SampleOutcomes {
  readonly outputs: readonly (Tensor | null)[];
  readonly failures: readonly SampleFailure[];
  /** Re-publications after timeouts, over every sample. */
  readonly retries: number;
}

/** Outputs, failures and retries of a task's samples; `requestIdOf(sample)` names each request. */
export function sampleOutcomes(
  outcomes: readonly RequestOutcome[],
  requestIdOf: (sample: number) => string,
): SampleOutcomes {
  const failures: SampleFailure[] = [];
  outcomes.forEach((outcome, sample) => {
    if (outcome.ok || outcome.reason === 'cancelled') return;
    const { reason, message } = outcome;
    failures.push({ sample, requestId: requestIdOf(sample), reason, message });
  });
  return {
    outputs: outcomes.map((outcome) => (outcome.ok ? outcome.result.tensor : null)),
    failures,
    retries: outcomes.reduce((sum, outcome) => sum + outcome.attempts - 1, 0),
  };
}
