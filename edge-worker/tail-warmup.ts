/**
 * Opens the session of each served tail ahead of its first job: for a UE this worker serves
 * whose decision names its model and a cut short of the last, the executor opens (model, cut →
 * last) on every thread, so that the first request after a re-plan does not pay for it. Each
 * tail is opened once while served; a failed opening is reported and tried again at the next
 * reconcile.
 */
import { type Executor, hasModel, modelCuts } from '../dnn/index.js';
import { asError } from '../runtime/as-error.js';
import type { Tail } from './fleet-view.js';

export class TailWarmup {
  /** Tails served and opened (or opening). */
  private readonly opened = new Set<string>();

  constructor(
    private readonly executor: Executor,
    /** The models this worker serves. */
    private readonly models: ReadonlySet<string>,
    private readonly onError: (error: Error, context: string) => void,
  ) {}

  /**
   * The tails of the UEs served now: opens each not opened since it was last served. A tail no
   * longer served is forgotten, as its sessions may be closed (least recently used) meanwhile.
   */
  serve(tails: Iterable<Tail>): void {
    const now = new Set<string>();
    for (const { model, cut } of tails) {
      const key = `${model}:${cut}`;
      now.add(key);
      if (!this.opened.has(key)) this.open(key, model, cut);
    }
    for (const key of this.opened) if (!now.has(key)) this.opened.delete(key);
  }

  private open(key: string, model: string, cut: number): void {
    if (this.executor.warm === undefined || !this.models.has(model) || !hasModel(model)) return;
    const last = modelCuts(model).length - 1;
    if (cut >= last) return;
    this.opened.add(key);
    this.executor.warm(model, cut, last).catch((error: unknown) => {
      this.opened.delete(key);
      this.onError(asError(error), `opening the ${model} tail from cut ${cut}`);
    });
  }
}
