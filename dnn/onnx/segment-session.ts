import type { InferenceSession } from 'onnxruntime-node';
import type { Tensor } from '../../proto/schemas/tensor.js';
import { mapGet } from '../../runtime/defined.js';
import { SegmentError } from '../executor.js';
import { elementCount } from '../layer-cost.js';
import type { OnnxSegment } from './segment.js';

type Runtime = typeof import('onnxruntime-node');
let runtime: Promise<Runtime> | undefined;

/** ONNX Runtime, loaded on first use so that importing this folder stays cheap. */
export function loadRuntime(): Promise<Runtime> {
  runtime ??= import('onnxruntime-node');
  return runtime;
}

export interface SegmentSessionOptions {
  /** Threads one run may use (one per edge unit). @defaultValue ONNX Runtime's: one per core */
  readonly threads?: number;
}

/** One segment loaded in ONNX Runtime. */
export interface SegmentSession {
  readonly segment: OnnxSegment;
  /** Runs one sample from the segment's input cut to its output cut. */
  run(input: Tensor): Promise<Tensor>;
  /** Runs one sample and returns every output of the segment by tensor name. */
  runAll(input: Tensor): Promise<Map<string, Tensor>>;
  close(): Promise<void>;
}

/**
 * Session settings that let every segment of a model share the weights file: initializers are
 * mapped from it rather than copied, so opening a segment of VGG-16 takes milliseconds and
 * many segments cost the memory of one. Prepacking and the layout transforms of the highest
 * optimisation level would copy every weight again.
 */
export function runtimeOptions(weightsDir: string, options: SegmentSessionOptions = {}) {
  return {
    graphOptimizationLevel: 'extended',
    ...(options.threads === undefined ? {} : { intraOpNumThreads: options.threads }),
    extra: {
      session: {
        disable_prepacking: '1',
        model_external_initializers_file_folder_path: weightsDir,
      },
    },
  } satisfies InferenceSession.SessionOptions;
}

export async function openSegmentSession(
  segment: OnnxSegment,
  options: SegmentSessionOptions = {},
): Promise<SegmentSession> {
  const ort = await loadRuntime();
  const session = await ort.InferenceSession.create(
    segment.bytes,
    runtimeOptions(segment.weightsDir, options),
  );
  const { input } = segment;
  const runAll = async (tensor: Tensor): Promise<Map<string, Tensor>> => {
    if (tensor.data.length !== elementCount(input.shape))
      throw new SegmentError(
        `model "${segment.model}" expects ${elementCount(input.shape)} elements at cut ${segment.from} ("${input.name}"), got ${tensor.data.length}`,
      );
    const feed = { [input.tensor]: new ort.Tensor('float32', tensor.data, [...input.shape]) };
    const results = await session.run(feed);
    const out = new Map<string, Tensor>();
    for (const name of segment.outputs) {
      const value = results[name];
      if (value === undefined || !(value.data instanceof Float32Array))
        throw new SegmentError(
          `model "${segment.model}": output "${name}" is not a float32 tensor`,
        );
      out.set(name, { dtype: 'float32', shape: value.dims.map(Number), data: value.data });
    }
    return out;
  };
  return {
    segment,
    runAll,
    async run(tensor) {
      const outputs = await runAll(tensor);
      const name = segment.output.tensor;
      return mapGet(outputs, name, `output "${name}" of model "${segment.model}"'s segment`);
    },
    close: () => session.release(),
  };
}
