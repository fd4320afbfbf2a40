/**
 * Opens the session of each served tail ahead of its first job: for a UE this worker serves
 * whose decision names its model and a cut short of the last, the executor opens (model, cut →
 * last) on every thread, so that the first request after a re-plan does not pay for it. Each
 * tail is opened once; a failed opening is reported and tried again at the next offer.
 */
import { type Executor, hasModel, modelCuts } from '../dnn/index.js';
import { asError } from '../proto/index.js';

export class TailWarmup {
  private readonly opened = new Set<string>();

  constructor(
    private readonly executor: Executor,
    /** The models this worker serves. */
    private readonly models: ReadonlySet<string>,
    private readonly onError: (error: Error, context: string) => void,
  ) {}

  /** A served UE runs `model` cut at `cut`. */
  offer(model: string, cut: number): void {
    if (this.executor.warm === undefined || !this.models.has(model) || !hasModel(model)) return;
    const last = modelCuts(model).length - 1;
    const key = `${model}:${cut}`;
    if (cut >= last || this.opened.has(key)) return;
    this.opened.add(key);
    this.executor.warm(model, cut, last).catch((error: unknown) => {
      this.opened.delete(key);
      this.onError(asError(error), `opening the ${model} tail from cut ${cut}`);
    });
  }
}
