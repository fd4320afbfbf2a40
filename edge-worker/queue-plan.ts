import { type Packing, servedUes, sharesOf } from './packing.js';

/** What one worker does with each UE queue it knows of, given the packing. */
export interface QueuePlan {
  /** UEs this worker has a share of: a Worker with concurrency = share. */
  readonly serve: ReadonlyMap<string, number>;
  /** UEs another worker serves: their Worker here stops (jobs in flight finish). */
  readonly stop: readonly string[];
  /**
   * UEs nobody serves (0 units, no decision any more, or R too small): a Worker of
   * concurrency 1 while their queue still holds jobs, none once it is drained.
   */
  readonly unserved: readonly string[];
}

/** Sorts `ues` (the queues with a Worker here and the UEs with a decision) by the packing. */
export function planQueues(packing: Packing, workerId: string, ues: Iterable<string>): QueuePlan {
  const serve = sharesOf(packing, workerId);
  const served = servedUes(packing);
  const stop: string[] = [];
  const unserved: string[] = [];
  for (const ue of new Set(ues)) {
    if (serve.has(ue)) continue;
    if (served.has(ue)) stop.push(ue);
    else unserved.push(ue);
  }
  return { serve, stop, unserved };
}
