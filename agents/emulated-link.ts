import { LINK_CLASSES } from '../dnn/index.js';
import type { LinkEstimate } from '../proto/index.js';
import { AgentOptionsError } from './errors.js';

/** What an agent knows about its link to the edge (docs/model.md's link inputs). */
export interface LinkRates {
  readonly uplinkMbps: number;
  readonly rttMs: number;
  /** Absent means an unlimited downlink (the result download takes no time). */
  readonly downlinkMbps?: number | undefined;
}

/**
 * `emulated`: the agent waits the modelled transfer times itself (docs/live-system.md, "Agent
 * timing model"), so a loopback broker behaves like the link. `real`: no waits, for agents whose
 * traffic crosses a real network; the given rates are reported to the scheduler as they are.
 * `measure`: no waits, and the rates reported are measured from the agent's own traffic and
 * probes (docs/links-and-lab.md); given rates are only the starting point.
 */
export type LinkMode = 'emulated' | 'real' | 'measure';

export const LINK_MODES: readonly LinkMode[] = ['emulated', 'real', 'measure'];

/** Milliseconds to send `bytes` at `mbps` (1 Mbps = 10^6 bit/s). */
export function transferMs(bytes: number, mbps: number | undefined): number {
  if (mbps === undefined) return 0;
  return (bytes * 8) / (mbps * 1000);
}

/** The emulated wait before a task's requests are published: upload plus half the round trip. */
export function uploadWaitMs(link: LinkRates, bytes: number): number {
  return transferMs(bytes, link.uplinkMbps) + link.rttMs / 2;
}

/** The emulated wait after a task's last result: half the round trip plus the result download. */
export function downloadWaitMs(link: LinkRates, resultBytes: number): number {
  return link.rttMs / 2 + transferMs(resultBytes, link.downlinkMbps);
}

/** Throws AgentOptionsError unless the rates are usable (what the link schema accepts). */
export function checkLinkRates(link: LinkRates, option = 'link'): LinkRates {
  const positive = (value: number | undefined) =>
    value !== undefined && Number.isFinite(value) && value > 0;
  if (!positive(link.uplinkMbps))
    throw new AgentOptionsError(`${option}.uplinkMbps`, 'must be a finite number > 0');
  if (!(Number.isFinite(link.rttMs) && link.rttMs >= 0))
    throw new AgentOptionsError(`${option}.rttMs`, 'must be a finite number >= 0');
  if (link.downlinkMbps !== undefined && !positive(link.downlinkMbps))
    throw new AgentOptionsError(`${option}.downlinkMbps`, 'must be a finite number > 0');
  return link;
}

/** The typical rates of a link class of the catalog (`3g`, `4g`, `5g`, `wifi`). */
export function linkClassRates(id: string): LinkRates {
  const link = LINK_CLASSES.find((candidate) => candidate.id === id);
  if (link === undefined) {
    const known = LINK_CLASSES.map((candidate) => candidate.id).join(', ');
    throw new AgentOptionsError('link', `unknown link class "${id}" (known: ${known})`);
  }
  return { uplinkMbps: link.uplinkMbps, rttMs: link.rttMs, downlinkMbps: link.downlinkMbps };
}

/** The `ue/{ue}/link` payload for `rates`, measured now. */
export function linkEstimateOf(rates: LinkRates, measuredAt: number = Date.now()): LinkEstimate {
  const { uplinkMbps, rttMs, downlinkMbps } = rates;
  const link: LinkEstimate = { uplinkMbps, rttMs, measuredAt, source: 'configured' };
  if (downlinkMbps !== undefined) link.downlinkMbps = downlinkMbps;
  return link;
}
