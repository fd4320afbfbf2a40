import type { ErrorReport } from '../../proto/index.js';
import type { ForcedLocal } from './fleet-instance.js';

/**
 * Why each UE runs locally against its will (no worker serves its model, a profile that does
 * not fit, ...): each UE is told once per reason, not on every solve.
 */
export class LocalReasons {
  private reasons = new Map<string, string>();

  /** The error reports to send after a solve that forced `forced` local. */
  update(forced: readonly ForcedLocal[]): { ue: string; report: ErrorReport }[] {
    const reasons = new Map<string, string>();
    const reports: { ue: string; report: ErrorReport }[] = [];
    for (const { ue, reason, field } of forced) {
      reasons.set(ue, reason);
      if (this.reasons.get(ue) === reason) continue;
      reports.push({
        ue,
        report: {
          code: 'INVALID_INSTANCE',
          message: `UE "${ue}" runs locally (cut L, 0 units): ${reason}`,
          issues: [`${field}: ${reason}`],
        },
      });
    }
    this.reasons = reasons;
    return reports;
  }
}
