import type { DeviceClass } from './device-classes.js';
import { EDGE_UNIT } from './edge-unit.js';
import { modelCuts } from './zoo.js';

/** A UE's view of its model: device time before each cut and the bytes crossing it (batch 1). */
export interface DeviceCut {
  readonly name: string;
  readonly deviceMs: number;
  readonly bytes: number;
}

/** Device profile of a zoo model on a device class (FLOPs before the cut / effective GFLOP/s). */
export function deviceProfile(model: string, device: Pick<DeviceClass, 'gflops'>): DeviceCut[] {
  return modelCuts(model).map((cut) => ({
    name: cut.name,
    deviceMs: cut.flopsBefore / (device.gflops * 1e6),
    bytes: cut.bytes,
  }));
}

/** Edge time after each cut on one unit, for the edge unit of the catalog (or given GFLOP/s). */
export function edgeProfile(model: string, gflops: number = EDGE_UNIT.gflops): number[] {
  return modelCuts(model).map((cut) => cut.flopsAfter / (gflops * 1e6));
}
