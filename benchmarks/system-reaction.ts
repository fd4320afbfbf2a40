/**
 * Reaction time: a UE publishes a link estimate, the scheduler re-solves the fleet, and the new
 * decision reaches that UE's own connection. Changes go one at a time, each after the previous
 * solve has ended (its `scheduler/status` arrived), so they are never coalesced. The fleet is of
 * the `contended` scenario unless another is given (the result says whether it is pinned).
 */
import {
  CONTENDED_SCENARIO,
  edgeProfile,
  planFleet,
  REAL_MODELS,
  type Scenario,
} from '../dnn/index.js';
import {
  decodeMessage,
  EDGE_ANNOUNCE_MS,
  type EdgeStatus,
  edgeStatusTopic,
  encodeMessage,
  type LinkEstimate,
  type Message,
  type Profile,
  schedulerStatusTopic,
  ueTopic,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { contentionOf } from '../scheduler/contention.js';
import { parseInstance } from '../scheduler/instance.js';
import { prepareFleet } from '../scheduler/solvers/index.js';
import { closeUes, connectUes, type UeClient } from './system-clients.js';
import { type LatencySummary, summarize, waitFor } from './system-stats.js';

export interface ReactionOptions {
  readonly ues: number;
  /** Changes of a decision to measure. */
  readonly changes: number;
  readonly seed: number;
  /** The fleet's scenario. @defaultValue CONTENDED_SCENARIO */
  readonly scenario?: Scenario;
  /** Fake edge workers declaring the units (R = workers × unitsEach). */
  readonly workers: number;
  readonly unitsEach: number;
  /** Called once the changes are measured, before the scheduler stops (e.g. to read memory). */
  readonly measured?: () => Promise<void> | void;
  /** Link changes published at most before giving up (default 4 × changes). */
  readonly maxPublished?: number;
  /** Longest wait for the first decision of every UE, in ms (default 30 s). */
  readonly firstDecisionMs?: number;
}

export interface ReactionResult {
  readonly ues: number;
  readonly units: number;
  /** The fleet's scenario, whether it is pinned at R and how many UEs run locally there. */
  readonly scenario: string;
  readonly pinned: boolean;
  readonly localUes: number;
  /** Link changes published (every one past the hysteresis threshold). */
  readonly published: number;
  /** Of those, changes after which the UE's own decision did not change (not measured). */
  readonly unchanged: number;
  readonly latency: LatencySummary;
}

/** Uplink divided (offloading UE) or multiplied (local UE) by this: far past the 10% threshold. */
const LINK_FACTOR = 25;
/** After the solve's status, how long a decision of that solve may still be on its way. */
const STRAGGLER_MS = 50;
const RETAIN = { qos: 1, retain: true } as const;
const AT = 1_700_000_000_000;

interface Ue {
  readonly agent: UeClient;
  readonly profile: Profile;
  readonly base: LinkEstimate;
  /** The other estimate it toggles to; set once its first decision is known. */
  other?: LinkEstimate;
  toggled: boolean;
  epoch: number;
  units: number;
  decidedAt: number;
}

/** The fleet's UEs as agents announce them, and its contention at `units`. */
export function fleetOf(count: number, seed: number, scenario: Scenario, units: number) {
  const { instance, members } = planFleet({ ues: count, units, seed, scenario });
  const parsed = parseInstance(instance);
  if (!parsed.ok) throw parsed.error;
  const contention = contentionOf(prepareFleet(parsed.value));
  const ues = instance.ues.map((ue, i) => {
    const profile: Profile = {
      model: defined(members[i], `member ${i} of the planned fleet`).model,
      batch: ue.batch,
      resultBytes: ue.resultBytes ?? 0,
      cuts: ue.cuts.map(({ name, deviceMs, bytes }) => ({ name, deviceMs, bytes })),
    };
    const link: LinkEstimate = {
      uplinkMbps: ue.uplinkMbps,
      rttMs: ue.rttMs ?? 0,
      measuredAt: AT,
      ...(ue.downlinkMbps === undefined ? {} : { downlinkMbps: ue.downlinkMbps }),
    };
    return { id: ue.id, profile, link };
  });
  return { ues, contention };
}

/**
 * Publishes the fleet (status, profile, link of every UE, retained, each from its own
 * connection) and `workers` fake edge workers, then runs `startScheduler` and measures.
 */
export async function measureReaction(
  url: string,
  prefix: string,
  options: ReactionOptions,
  startScheduler: () => Promise<{ stop(): Promise<void> }>,
): Promise<ReactionResult> {
  const scenario = options.scenario ?? CONTENDED_SCENARIO;
  const { ues: fleet, contention } = fleetOf(
    options.ues,
    options.seed,
    scenario,
    options.workers * options.unitsEach,
  );
  const observer = await connectMqtt({ url, clientId: `bench-observer-${prefix}`, clean: true });
  const agents = await connectUes(
    url,
    prefix,
    fleet.map((f) => f.id),
    ['decision'],
    'bench-reaction',
  );
  let scheduler: { stop(): Promise<void> } | undefined;
  let announcing: NodeJS.Timeout | undefined;
  try {
    const ues = agents.map((agent, i): Ue => {
      const { profile, link } = defined(fleet[i], `UE ${i} of the fleet`);
      return { agent, profile, base: link, toggled: false, epoch: 0, units: 0, decidedAt: 0 };
    });
    for (const ue of ues)
      ue.agent.onMessage = (_channel, payload, at) => {
        if (payload.length === 0) return;
        const decoded = decodeMessage('decision', payload);
        if (!decoded.ok) throw decoded.error;
        ue.epoch = decoded.value.epoch;
        ue.units = decoded.value.units;
        ue.decidedAt = at;
      };
    let statuses = 0;
    observer.on('message', () => {
      statuses++;
    });
    await observer.subscribeAsync(schedulerStatusTopic(prefix), { qos: 1 });
    const edge: EdgeStatus = {
      state: 'online',
      units: options.unitsEach,
      models: REAL_MODELS.map((model) => ({ model, edgeMs: edgeProfile(model) })),
      at: AT,
    };
    const publish = (client: UeClient['client'], topic: string, value: Message) =>
      client.publishAsync(topic, encodeMessage(value), RETAIN);
    const announce = () =>
      Promise.all(
        Array.from({ length: options.workers }, (_, w) =>
          publish(observer, edgeStatusTopic(prefix, `bench-edge-${w}`), edge),
        ),
      );
    await announce();
    // As edge workers do: a status not heard again for EDGE_STATUS_EXPIRY_MS is taken offline.
    announcing = setInterval(() => {
      announce().catch(() => {});
    }, EDGE_ANNOUNCE_MS);
    await Promise.all(
      ues.flatMap(({ agent, profile, base }) => [
        publish(agent.client, ueTopic(prefix, agent.ue, 'status'), {
          state: 'online',
          agentVersion: 'bench',
          at: AT,
        }),
        publish(agent.client, ueTopic(prefix, agent.ue, 'profile'), profile),
        publish(agent.client, ueTopic(prefix, agent.ue, 'link'), base),
      ]),
    );
    scheduler = await startScheduler();
    await waitFor(
      'a decision for every UE',
      () => ues.every((ue) => ue.epoch > 0),
      options.firstDecisionMs ?? 30_000,
      20,
    ).catch((error: Error) => {
      const decided = ues.filter((ue) => ue.epoch > 0).length;
      throw new Error(`${error.message}: ${decided} of ${ues.length} have one`);
    });
    // Let the first solve (and its status) settle.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const ue of ues) {
      const factor = ue.units > 0 ? 1 / LINK_FACTOR : LINK_FACTOR;
      ue.other = { ...ue.base, uplinkMbps: ue.base.uplinkMbps * factor };
    }

    const samples: number[] = [];
    let published = 0;
    let unchanged = 0;
    const maxPublished = options.maxPublished ?? options.changes * 4;
    // UEs whose decision a change left alone are dropped from the rotation (most are local UEs
    // that a faster link does not make worth offloading while the bottleneck is elsewhere).
    let rotation = ues;
    const inert = new Set<Ue>();
    let next = 0;
    while (samples.length < options.changes) {
      if (next >= rotation.length) {
        rotation = rotation.filter((ue) => !inert.has(ue));
        next = 0;
      }
      if (published >= maxPublished || rotation.length === 0)
        throw new Error(`only ${samples.length} of ${published} link changes changed a decision`);
      const ue = defined(rotation[next++], 'a UE left in the rotation');
      ue.toggled = !ue.toggled;
      const link = ue.toggled
        ? defined(
            ue.other,
            `the other link estimate of ${ue.agent.ue} (set after its first decision)`,
          )
        : ue.base;
      const epoch = ue.epoch;
      const statusesBefore = statuses;
      const sent = performance.now();
      const topic = ueTopic(prefix, ue.agent.ue, 'link');
      ue.agent.client.publish(topic, encodeMessage({ ...link, measuredAt: Date.now() }), RETAIN);
      published++;
      await waitFor(
        `the solve after a link change of ${ue.agent.ue}`,
        () => statuses > statusesBefore,
      );
      const solvedAt = performance.now();
      await waitFor(
        'a straggling decision',
        () => ue.epoch !== epoch || performance.now() - solvedAt > STRAGGLER_MS,
      );
      if (ue.epoch === epoch) {
        unchanged++;
        inert.add(ue);
      } else samples.push(ue.decidedAt - sent);
    }
    await options.measured?.();
    const units = options.workers * options.unitsEach;
    return {
      ues: options.ues,
      units,
      scenario: scenario.name,
      pinned: contention.pinned,
      localUes: contention.localUes,
      published,
      unchanged,
      latency: summarize(samples),
    };
  } finally {
    clearInterval(announcing);
    await scheduler?.stop();
    await closeUes(agents);
    await observer.endAsync(true);
  }
}
