import { CONTENDED_SCENARIO, generateFleet } from '../dnn/index.js';
import { parseInstance } from '../scheduler/instance.js';
import type { Instance } from '../scheduler/instance-schema.js';

export interface ContendedOptions {
  readonly ues: number;
  readonly seed: number;
  /** Edge units per UE. @defaultValue the contended scenario's (1) */
  readonly unitsPerUe?: number;
  /** Multiplies every UE's uplink and downlink rate. @defaultValue 1 */
  readonly bandwidthScale?: number;
}

/** A fleet of the `contended` scenario, validated, optionally with scaled units or links. */
export function contendedFleet(options: ContendedOptions): Instance {
  const perUe = options.unitsPerUe ?? CONTENDED_SCENARIO.unitsPerUe ?? 1;
  const generated = generateFleet({
    ues: options.ues,
    seed: options.seed,
    units: Math.max(1, Math.round(options.ues * perUe)),
    scenario: CONTENDED_SCENARIO,
  });
  const scale = options.bandwidthScale ?? 1;
  const ues = generated.ues.map((ue) => ({
    ...ue,
    uplinkMbps: ue.uplinkMbps * scale,
    ...(ue.downlinkMbps === undefined ? {} : { downlinkMbps: ue.downlinkMbps * scale }),
  }));
  const parsed = parseInstance({ ...generated, ues });
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}
