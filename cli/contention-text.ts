import { formatMs } from '../runtime/table.js';
import { type Contention, contentionOf } from '../scheduler/contention.js';
import { parseInstance } from '../scheduler/instance.js';
import type { InstanceInput } from '../scheduler/instance-schema.js';
import { prepareFleet } from '../scheduler/solvers/index.js';

/** One line on whether a fleet is pinned and how many UEs run locally at the optimum. */
export function contentionText(c: Contention): string {
  const local = `${c.localUes} of ${c.ues} UEs local at the optimum`;
  if (c.limitingUe === null) return `empty fleet, ${local}`;
  if (c.pinned) {
    return (
      `pinned: ${c.limitingUe} alone decides the maximum (${formatMs(c.optimalMaxLatencyMs)} ms ` +
      `with every unit it can use; more units would not lower it), ${local}`
    );
  }
  return (
    `not pinned: the optimum ${formatMs(c.optimalMaxLatencyMs)} ms is above every UE's own limit ` +
    `(at most ${formatMs(c.unlimitedMaxLatencyMs)} ms, ${c.limitingUe}), so the units decide it; ${local}`
  );
}

/** {@link contentionText} of a generated instance. */
export function contentionLine(instance: InstanceInput): string {
  const parsed = parseInstance(instance);
  if (!parsed.ok) throw parsed.error;
  return contentionText(contentionOf(prepareFleet(parsed.value)));
}
