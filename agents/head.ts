import type { Executor } from '../dnn/index.js';
import type { Tensor } from '../proto/index.js';

/**
 * Runs the head (cuts 0 to `cut`) of every sample, one after the other as a single device
 * would; at cut 0 the inputs are sent as they are. Undefined if `signal` aborts between samples.
 */
export async function runHeads(
  executor: Executor,
  model: string,
  cut: number,
  inputs: readonly Tensor[],
  signal: AbortSignal,
): Promise<Tensor[] | undefined> {
  if (cut === 0) return [...inputs];
  const heads: Tensor[] = [];
  for (const input of inputs) {
    if (signal.aborted) return undefined;
    heads.push(await executor.run({ model, from: 0, to: cut, input }));
  }
  return heads;
}
