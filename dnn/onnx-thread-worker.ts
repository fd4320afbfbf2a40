/**
 * The body of an `OnnxThreadPool` worker thread: one in-thread `OnnxExecutor` (sessions cached
 * per model and cut range) runs the segments it is sent.
 */
import { workerData } from 'piscina';
import { SegmentError } from './executor.js';
import { OnnxExecutor } from './onnx-executor.js';
import type { OnnxThreadReply, OnnxThreadSettings, OnnxThreadTask } from './onnx-thread-task.js';

const settings = workerData as OnnxThreadSettings;
const executor = new OnnxExecutor(settings);

export default async function runTask(task: OnnxThreadTask): Promise<OnnxThreadReply> {
  try {
    if (task.input === undefined) {
      await executor.warm(task.model, task.from, task.to);
      return { ok: true };
    }
    const output = await executor.run({
      model: task.model,
      from: task.from,
      to: task.to,
      input: { dtype: 'float32', shape: [...task.input.shape], data: task.input.data },
    });
    return { ok: true, shape: output.shape, data: output.data };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, segment: error instanceof SegmentError, message };
  }
}
