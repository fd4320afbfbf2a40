import { describe, expect, it } from 'vitest';
import { FleetView, MAX_EPOCHS, MAX_ROWS, MAX_UES } from '../dashboard/fleet-view.js';
import {
  DEFAULT_TOPIC_PREFIX,
  EDGE_STATUS_EXPIRY_MS,
  edgeStatusTopic,
  encodeMessage,
  type Message,
  ueTopic,
} from '../proto/index.js';

const P = DEFAULT_TOPIC_PREFIX;
const at = 1_700_000_000_000;
const bytes = (message: Message) => encodeMessage(message);

function online(view: FleetView, ue: string): void {
  view.receive(ueTopic(P, ue, 'status'), bytes({ state: 'online', agentVersion: 't', at }));
}

function decision(epoch: number, units = 1) {
  return bytes({ epoch, cut: 0, cutName: 'input', units, predictedMs: 12, solver: 'optimal' });
}

describe('the dashboard fleet view', () => {
  it('tracks at most MAX_UES UEs, however many ids the broker carries', () => {
    const view = new FleetView(P, () => at);
    for (let i = 0; i < MAX_UES + 50; i++) online(view, `ue-${i}`);
    view.receive(ueTopic(P, 'late-one', 'decision'), decision(1));
    expect(view.snapshot(0, true, null).ues.length).toBe(MAX_UES);
    expect(view.ignored).toBe(51);
  });

  it('keeps decisions until cleared, units in use from online UEs, and a bounded epoch timeline', () => {
    const view = new FleetView(P, () => at);
    online(view, 'a');
    for (let epoch = 1; epoch <= MAX_EPOCHS + 10; epoch++)
      view.receive(ueTopic(P, 'a', 'decision'), decision(epoch, 3));
    let shown = view.snapshot(0, true, null);
    expect(shown.unitsInUse).toBe(3);
    expect(shown.ues[0]?.decision?.epoch).toBe(MAX_EPOCHS + 10);
    expect(shown.epochs.length).toBe(MAX_EPOCHS);
    expect(shown.epochs[0]?.epoch).toBe(11);
    // A cleared retained decision (empty payload) removes it; nothing is counted as invalid.
    view.receive(ueTopic(P, 'a', 'decision'), new Uint8Array(0));
    shown = view.snapshot(0, true, null);
    expect(shown.ues[0]?.decision).toBeNull();
    expect(shown.unitsInUse).toBe(0);
    expect(shown.rejected).toBe(0);
  });

  it('ignores foreign topics and counts invalid payloads, changing nothing', () => {
    const view = new FleetView(P, () => at);
    online(view, 'a');
    const before = view.snapshot(0, true, null);
    view.receive('other/v1/ue/a/status', bytes({ state: 'offline', agentVersion: 't', at }));
    view.receive(`${P}/ue/a/unknown`, Buffer.from('x'));
    view.receive(ueTopic(P, 'a', 'status'), Buffer.from([0xc1]));
    view.receive(ueTopic(P, 'a', 'stats'), bytes({ at } as unknown as Message));
    view.receive(ueTopic(P, 'a', 'decision'), bytes({ epoch: -1 } as unknown as Message));
    view.receive(`${P}/scheduler/status`, Buffer.from('junk'));
    const after = view.snapshot(0, true, null);
    expect(after.ues).toEqual(before.ues);
    expect(after.rejected).toBe(4);
  });

  it('keeps at most MAX_ROWS plot rows and sends a page only the rows it lacks', () => {
    const view = new FleetView(P, () => at);
    online(view, 'a');
    for (let i = 0; i < MAX_ROWS * 2; i++) view.sample();
    expect(view.snapshot(0, true, null).rows.length).toBe(MAX_ROWS);
    const seq = view.lastSeq;
    view.sample();
    const update = view.snapshot(seq, true, null);
    expect(update.rows.map((row) => row.seq)).toEqual([seq + 1]);
    expect(update.rows[0]?.ues.a).toEqual([null, null, null]);
  });

  it('takes offline a worker whose online status is not heard again for the expiry time, and shows it again at its announcement', () => {
    let now = at;
    const view = new FleetView(P, () => now);
    const status = (units: number) => bytes({ state: 'online', units, models: [], at: now });
    view.receive(edgeStatusTopic(P, 'live'), status(2));
    view.receive(edgeStatusTopic(P, 'ghost'), status(3));
    const shown = () => view.snapshot(0, true, null);
    view.sample();
    expect(shown().units).toBe(5);
    now += EDGE_STATUS_EXPIRY_MS / 2;
    view.receive(edgeStatusTopic(P, 'live'), status(2));
    now += EDGE_STATUS_EXPIRY_MS / 2;
    view.sample();
    expect(shown().workers.map((w) => w.worker)).toEqual(['live']);
    expect(shown().units).toBe(2);
    view.receive(edgeStatusTopic(P, 'ghost'), status(3));
    view.sample();
    expect(shown().workers.map((w) => w.worker)).toEqual(['ghost', 'live']);
  });
});
