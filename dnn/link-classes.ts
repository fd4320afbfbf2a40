/** A class of UE-to-edge access link with typical (not peak) rates. */
export interface LinkClass {
  readonly id: string;
  readonly title: string;
  readonly uplinkMbps: number;
  readonly downlinkMbps: number;
  /** Round-trip time from the UE to the edge. */
  readonly rttMs: number;
  readonly source: string;
}

const CROWD =
  'Approximate typical user-experienced figures in the range reported by crowd-sourced ' +
  'measurement reports (e.g. Opensignal, Ookla); estimates that vary widely by operator, ' +
  'load and radio conditions, not peak rates.';

export const LINK_CLASSES: readonly LinkClass[] = [
  {
    id: '3g',
    title: '3G (HSPA/HSPA+)',
    uplinkMbps: 1.5,
    downlinkMbps: 6,
    rttMs: 100,
    source: `${CROWD} 3G: a few Mbps down, ~1-2 Mbps up, ~100 ms latency.`,
  },
  {
    id: '4g',
    title: '4G (LTE)',
    uplinkMbps: 10,
    downlinkMbps: 35,
    rttMs: 50,
    source: `${CROWD} LTE: ~30-40 Mbps down, ~8-12 Mbps up, ~40-60 ms latency.`,
  },
  {
    id: '5g',
    title: '5G (sub-6 GHz, non-standalone)',
    uplinkMbps: 40,
    downlinkMbps: 200,
    rttMs: 25,
    source: `${CROWD} Sub-6 GHz 5G: ~150-250 Mbps down, ~20-60 Mbps up, ~20-30 ms latency.`,
  },
  {
    id: 'wifi',
    title: 'Wi-Fi (802.11ac/ax) to an on-site edge',
    uplinkMbps: 80,
    downlinkMbps: 150,
    rttMs: 5,
    source:
      'Estimate for a shared 802.11ac/ax WLAN with the edge server on the same site: ' +
      'TCP goodput of ~100-200 Mbps down and somewhat less up from a typical client, a few ms ' +
      'round trip. Approximate effective figure, well below the PHY rate.',
  },
];
