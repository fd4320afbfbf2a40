/**
 * What `edgesplit up --executor onnx` adds: measured profiles of the fleet's models (kept in
 * the model store, measured once per model and thread count), ONNX Runtime executors for
 * heads and tails, and device heads that take their device class's time (measured time times
 * the class's slowdown), however loaded this machine is.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeviceSpec } from '../../agents/index.js';
import {
  DEVICE_CLASSES,
  type DeviceCut,
  EDGE_UNIT,
  type MeasuredProfile,
  measureProfile,
  modelStoreRoot,
  OnnxThreadPool,
  ProfileFileError,
  readProfileFile,
  ThreadedOnnxExecutor,
  writeProfileFile,
} from '../../dnn/index.js';
import { headTimeOf } from '../profiles.js';

/** Models `up` runs for real by default: the zoo's lighter ImageNet models. */
export const REAL_INFERENCE_MODELS = ['squeezenet1.1', 'mobilenet-v2', 'resnet18'] as const;

const PROFILE_RUNS = 5;

/** The measured profile of `model`, from the model store or measured now (and stored). */
export async function storedProfile(
  model: string,
  onProgress: (model: string, done: number, total: number) => void,
): Promise<MeasuredProfile> {
  const dir = join(modelStoreRoot(), 'profiles');
  const path = join(dir, `${model}-t1-r${PROFILE_RUNS}.json`);
  try {
    return await readProfileFile(path);
  } catch (error) {
    if (!(error instanceof ProfileFileError)) throw error;
  }
  const profile = await measureProfile(model, {
    runs: PROFILE_RUNS,
    threads: 1,
    onProgress: (done, total) => onProgress(model, done, total),
  });
  await mkdir(dir, { recursive: true });
  await writeProfileFile(path, profile);
  return profile;
}

/** How many times slower than one edge unit a device is (at least 1: it cannot be faster here). */
export function slowdownOf(device: DeviceSpec): number {
  const gflops =
    typeof device === 'string'
      ? (DEVICE_CLASSES.find((candidate) => candidate.id === device)?.gflops ?? EDGE_UNIT.gflops)
      : device.gflops;
  return Math.max(1, EDGE_UNIT.gflops / gflops);
}

/**
 * Heads and tails for real, each in worker threads: the edge's tails on one thread per unit of
 * all edge workers, the devices' heads on a pool as big as the machine (one executor per model
 * and slowdown, all on that pool). Closed together.
 */
export class RealInference {
  /** By model and slowdown. */
  private readonly heads = new Map<string, ThreadedOnnxExecutor>();
  private readonly headPool = new OnnxThreadPool({ threads: 1 });
  readonly tails: ThreadedOnnxExecutor;

  /** `edgeUnits`: the units of all edge workers together. */
  constructor(
    private readonly profiles: ReadonlyMap<string, MeasuredProfile>,
    edgeUnits: number,
  ) {
    this.tails = new ThreadedOnnxExecutor({ workers: edgeUnits, threads: 1 });
  }

  /** edgeMs per model for the edge workers' status. */
  edgeProfiles(): Record<string, number[]> {
    const byModel: Record<string, number[]> = {};
    for (const [model, profile] of this.profiles)
      byModel[model] = profile.cuts.map((cut) => cut.edgeMs);
    return byModel;
  }

  /** A UE's head: the measured device times scaled to its device, run slowed down alike. */
  headFor(
    model: string,
    device: DeviceSpec,
  ): { profile: DeviceCut[]; executor: ThreadedOnnxExecutor } {
    const profile = this.profiles.get(model);
    if (profile === undefined) throw new Error(`no measured profile for "${model}"`);
    const slowdown = slowdownOf(device);
    const cuts = profile.cuts.map(({ name, bytes, deviceMs }) => ({
      name,
      bytes,
      deviceMs: deviceMs * slowdown,
    }));
    const key = `${model}:${slowdown}`;
    let executor = this.heads.get(key);
    if (executor === undefined) {
      // The device's own time for a head, whatever else this machine is running meanwhile.
      executor = new ThreadedOnnxExecutor({ pool: this.headPool, targetMs: headTimeOf(cuts) });
      this.heads.set(key, executor);
    }
    return { profile: cuts, executor };
  }

  async close(): Promise<void> {
    await Promise.all([this.tails.close(), this.headPool.close()]);
  }
}
