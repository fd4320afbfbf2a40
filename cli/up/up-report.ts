/** What `edgesplit up` prints: live lines, the final summary, and its JSON form. */
import {
  type FleetSummary,
  formatPredictionErrors,
  formatWindow,
  type WindowSummary,
} from '../../agents/index.js';
import type { SystemView } from '../../system/index.js';

const ms = (value: number | null) => (value === null ? '-' : `${value.toFixed(1)} ms`);

/** One live line: the fleet's window plus the edge and scheduler. */
export function formatLive(window: WindowSummary, view: SystemView): string {
  return (
    `${formatWindow(window)}  | R ${view.units}  solves ${view.solves} (last ${view.lastSolveMs.toFixed(2)} ms)  ` +
    `edge running ${view.edgeRunning} done ${view.edgeCompleted}  ingress accepted ${view.ingressAccepted}`
  );
}

/**
 * Requests from UEs that `up` did not start: what the ingress took beyond the simulated fleet's
 * requests (the fleet's summary counts only its own UEs).
 */
export function outsideRequests(summary: FleetSummary, view: SystemView): number {
  return Math.max(0, view.ingressAccepted - summary.requests);
}

/** Requests that never got a result (failed or cut off at the end). */
export function lostRequests(summary: FleetSummary): number {
  return Math.max(0, summary.requests - summary.ok);
}

/** The documented JSON summary of `up --duration S --json`. */
export function jsonSummary(summary: FleetSummary): FleetSummary {
  return {
    ues: summary.ues,
    epochs: summary.epochs,
    requests: summary.requests,
    ok: summary.ok,
    failed: summary.failed,
    retried: summary.retried,
    duplicatesDropped: summary.duplicatesDropped,
    maxPredictedMs: summary.maxPredictedMs,
    measured: { p50Ms: summary.measured.p50Ms, p99Ms: summary.measured.p99Ms },
    predictionError: summary.predictionError,
  };
}

export function formatFinal(s: FleetSummary, view: SystemView): string {
  return [
    `fleet: ${s.ues} UEs, ${s.epochs} epochs (scheduler epoch ${view.epoch}, ${view.solves} solves); ` +
      `requests ${s.requests}: ok ${s.ok} failed ${s.failed} retried ${s.retried}, ` +
      `duplicates dropped ${s.duplicatesDropped}`,
    `latency: max predicted ${ms(s.maxPredictedMs)}, measured p50 ${ms(s.measured.p50Ms)} ` +
      `p99 ${ms(s.measured.p99Ms)}`,
    formatPredictionErrors(s.predictionError),
    `ingress: ${view.ingressAccepted} requests accepted, ${outsideRequests(s, view)} of them from UEs up did not start ` +
      `(not in the figures above); edge workers finished ${view.edgeCompleted} tail jobs`,
  ].join('\n');
}
