/**
 * The body of an `OnnxThreadPool` worker thread: one in-thread `OnnxExecutor` (sessions cached
 * per model and cut range) runs the segments it is sent, and opens the ones the pool broadcasts.
 */
import { workerData } from 'piscina';
import { OnnxExecutor } from './onnx-executor.js';
import {
  failureOf,
  type OnnxThreadReply,
  type OnnxThreadSettings,
  type OnnxThreadTask,
} from './onnx-thread-task.js';
import { answerWarmups } from './onnx-thread-warmup.js';

const settings = workerData as OnnxThreadSettings;
const executor = new OnnxExecutor(settings);
answerWarmups(settings.warmupChannel, (model, from, to) => executor.warm(model, from, to));

export default async function runTask(task: OnnxThreadTask): Promise<OnnxThreadReply> {
  try {
    const output = await executor.run({
      model: task.model,
      from: task.from,
      to: task.to,
      input: { dtype: 'float32', shape: [...task.input.shape], data: task.input.data },
    });
    return { ok: true, shape: output.shape, data: output.data };
  } catch (error) {
    return { ok: false, ...failureOf(error) };
  }
}
