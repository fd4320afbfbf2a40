import type { Decision } from '../../proto/index.js';
import { type DecisionPlan, decisionsAfter } from './planner.js';
import type { DecisionLedger, LedgerOutcome } from './ports.js';

/** What became of a plan written to the ledger. */
export type WriteOutcome = Exclude<LedgerOutcome, { readonly kind: 'needsFull' }>;

/**
 * The engine's side of the decision ledger (decision-ledger.ts): each solve's plan as a record.
 * The first record is a full one (every current decision), and so is one the ledger asks to be
 * (a fresh or wiped store); the others carry the solve's changes only.
 */
export class LedgerWriter {
  /** The ledger has a full record from this writer; until then, each record is a full one. */
  private recorded = false;

  constructor(private readonly ledger: DecisionLedger) {}

  /**
   * Records `plan`, made over `previous` (every UE's decision before it): `recorded` when it may
   * be published, `deposed` when this scheduler may publish nothing; rejects when a ledger call
   * fails.
   */
  async write(plan: DecisionPlan, previous: ReadonlyMap<string, Decision>): Promise<WriteOutcome> {
    let full = !this.recorded;
    for (;;) {
      const outcome = await this.ledger.commit({
        epoch: plan.epoch,
        set: full
          ? [...decisionsAfter(previous, plan)]
          : plan.publish.map((u) => [u.ue, u.decision] as const),
        clear: full ? [] : plan.clear,
        full,
      });
      if (outcome.kind === 'recorded') {
        this.recorded = true;
        return outcome;
      }
      if (outcome.kind === 'deposed') return outcome;
      if (full) throw new Error('the ledger asked for a full record after one');
      full = true;
    }
  }
}
