import fc from 'fast-check';
import {
  type EdgeModel,
  encodeMessage,
  ID_PATTERN,
  MESSAGE_KINDS,
  type Message,
  type MessageKind,
  type MessageMap,
  type ProfileCut,
  type Tensor,
  WIRE_ERROR_CODES,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';

// Arbitraries of valid messages, fully populated samples and path helpers for the proto tests.

const id = fc.stringMatching(ID_PATTERN);
const name = fc.string({ minLength: 1, maxLength: 24 });
const ms = fc.oneof(fc.double({ min: 0, max: 1e9, noNaN: true }), fc.integer({ min: 0, max: 1e6 }));
const mbps = fc.double({ min: 1e-6, max: 1e5, noNaN: true });
const nat = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const at = fc.oneof(
  fc.integer({ min: 0, max: 2e12 }),
  fc.double({ min: 0, max: 8.64e15, noNaN: true }),
);
const presence = fc.constantFrom('online' as const, 'offline' as const);
const solver = fc.constantFrom('iao', 'optimal', 'local', 'edge', 'even');

const tensor: fc.Arbitrary<Tensor> = fc
  .array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 })
  .chain((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    return fc.record({
      dtype: fc.constant('float32' as const),
      shape: fc.constant(shape),
      data: fc.float32Array({ minLength: n, maxLength: n }),
    });
  });

/** Running sums of non-negative steps never decrease, also in floating point. */
function cumulative(steps: readonly number[]): number[] {
  const out = [0];
  let sum = 0;
  for (const step of steps) {
    sum += step;
    out.push(sum);
  }
  return out;
}

const profileCuts: fc.Arbitrary<ProfileCut[]> = fc
  .array(fc.record({ name, step: ms, bytes: nat }), { minLength: 2, maxLength: 12 })
  .map((rows) => {
    const deviceMs = cumulative(rows.slice(1).map((r) => r.step));
    return rows.map((r, i) => ({
      name: r.name,
      deviceMs: defined(deviceMs[i], 'a running sum per row'),
      bytes: r.bytes,
    }));
  });

const edgeModel: fc.Arbitrary<EdgeModel> = fc
  .record({ model: id, steps: fc.array(ms, { minLength: 1, maxLength: 12 }) })
  .map(({ model, steps }) => ({ model, edgeMs: cumulative(steps).reverse() }));

export const arbitraries: { [K in MessageKind]: fc.Arbitrary<MessageMap[K]> } = {
  status: fc.record({ state: presence, agentVersion: fc.string({ maxLength: 64 }), at }),
  profile: fc.record({
    model: id,
    batch: fc.integer({ min: 1, max: 1_000_000 }),
    resultBytes: nat,
    cuts: profileCuts,
  }),
  link: fc.record(
    { uplinkMbps: mbps, rttMs: ms, downlinkMbps: mbps, measuredAt: at },
    { requiredKeys: ['uplinkMbps', 'rttMs', 'measuredAt'] },
  ),
  decision: fc.record({
    epoch: nat,
    cut: nat,
    cutName: name,
    units: fc.integer({ min: 0, max: 1_000_000 }),
    predictedMs: ms,
    solver,
  }),
  infer: fc.record({
    requestId: id,
    epoch: nat,
    model: id,
    cut: nat,
    sample: nat,
    tensor,
    sentAt: at,
  }),
  result: fc.record({
    requestId: id,
    epoch: nat,
    cut: nat,
    sample: nat,
    worker: id,
    tensor,
    timings: fc.record({ queueMs: ms, computeMs: ms }),
  }),
  error: fc.record(
    {
      code: fc.constantFrom(...WIRE_ERROR_CODES),
      message: fc.string({ maxLength: 300 }),
      topic: fc.string({ maxLength: 100 }),
      requestId: fc.string({ maxLength: 80 }),
      issues: fc.array(fc.string({ maxLength: 100 }), { maxLength: 50 }),
    },
    { requiredKeys: ['code', 'message', 'issues'] },
  ),
  stats: fc.record({
    at,
    windowMs: fc.double({ min: 1e-3, max: 3_600_000, noNaN: true }),
    tasks: nat,
    failed: nat,
    p50Ms: fc.option(ms, { nil: null }),
    p99Ms: fc.option(ms, { nil: null }),
    lastMs: fc.option(ms, { nil: null }),
    predictedMs: fc.option(ms, { nil: null }),
    totalTasks: nat,
  }),
  edgeStatus: fc.record({
    state: presence,
    units: fc.integer({ min: 0, max: 1_000_000 }),
    models: fc.uniqueArray(edgeModel, { selector: (m) => m.model, maxLength: 4 }),
    at,
  }),
  schedulerStatus: fc.record({
    leaderId: id,
    epoch: nat,
    ues: nat,
    units: nat,
    lastSolveMs: ms,
    maxPredictedMs: fc.option(ms, { nil: null }),
    solver,
    at,
  }),
};

/** The arbitrary of one kind, widened to any message. */
export function arbitraryOf(kind: MessageKind): fc.Arbitrary<Message> {
  return arbitraries[kind];
}

/** Any valid message together with its kind. */
export const anyMessage = fc.oneof(
  ...MESSAGE_KINDS.map((kind) =>
    arbitraries[kind].map((value): [MessageKind, Message] => [kind, value]),
  ),
);

/** Encodes anything with the real encoder, to build payloads the types would not allow. */
export function encodeAny(value: unknown): Buffer {
  return encodeMessage(value as Message);
}

export type Path = (string | number)[];
export type Leaf = { path: Path; value: unknown };

/** Every leaf of a message (numbers, strings, null and typed arrays), with its path. */
export function leavesOf(value: unknown, path: Path = []): Leaf[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => leavesOf(item, [...path, i]));
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value))
    return Object.entries(value).flatMap(([key, item]) => leavesOf(item, [...path, key]));
  return [{ path, value }];
}

/** Every object key of a message, with the path of the object holding it. */
export function keysOf(value: unknown, path: Path = []): { parent: Path; key: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, i) => keysOf(item, [...path, i]));
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value)) return [];
  return Object.entries(value).flatMap(([key, item]) => [
    { parent: path, key },
    ...keysOf(item, [...path, key]),
  ]);
}

/** A deep copy of `message` with the value at `path` replaced, or deleted if `remove`. */
export function withValueAt(message: unknown, path: Path, value: unknown, remove = false): unknown {
  const copy: unknown = structuredClone(message);
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  const last = defined(path.at(-1), 'the last key of the path');
  if (remove) delete node[last];
  else node[last] = value;
  return copy;
}

/** One fully populated message of each kind: every optional field present, no empty lists. */
function fullSamples(): MessageMap {
  const tensorSample = { dtype: 'float32' as const, shape: [2, 2], data: new Float32Array(4) };
  return {
    status: { state: 'online', agentVersion: '1.2.3', at: 1_700_000_000_000 },
    profile: {
      model: 'resnet18',
      batch: 2,
      resultBytes: 40,
      cuts: [
        { name: 'input', deviceMs: 0, bytes: 100 },
        { name: 'conv1', deviceMs: 1.5, bytes: 80 },
        { name: 'output', deviceMs: 9, bytes: 4 },
      ],
    },
    link: { uplinkMbps: 20, rttMs: 5, downlinkMbps: 50, measuredAt: 1_700_000_000_000 },
    decision: { epoch: 3, cut: 1, cutName: 'conv1', units: 2, predictedMs: 12.5, solver: 'iao' },
    infer: {
      requestId: 'r-1',
      epoch: 3,
      model: 'resnet18',
      cut: 1,
      sample: 0,
      tensor: tensorSample,
      sentAt: 1_700_000_000_000,
    },
    result: {
      requestId: 'r-1',
      epoch: 3,
      cut: 1,
      sample: 0,
      worker: 'edge-1',
      tensor: tensorSample,
      timings: { queueMs: 1, computeMs: 2.5 },
    },
    error: {
      code: 'INVALID_PAYLOAD',
      message: 'payload failed validation',
      topic: 'edgesplit/v1/ue/cam/profile',
      requestId: 'r-1',
      issues: ['profile.batch: must be an integer from 1 to 1000000'],
    },
    stats: {
      at: 1_700_000_000_000,
      windowMs: 30_000,
      tasks: 12,
      failed: 1,
      p50Ms: 41.5,
      p99Ms: 88,
      lastMs: 40,
      predictedMs: 38.2,
      totalTasks: 310,
    },
    edgeStatus: {
      state: 'online',
      units: 8,
      models: [{ model: 'resnet18', edgeMs: [30, 28.5, 0] }],
      at: 1_700_000_000_000,
    },
    schedulerStatus: {
      leaderId: 'sched-a',
      epoch: 3,
      ues: 10,
      units: 16,
      lastSolveMs: 0.8,
      maxPredictedMs: 120,
      solver: 'optimal',
      at: 1_700_000_000_000,
    },
  };
}

export const SAMPLES = fullSamples();
export const OPTIONAL = new Set(['link.downlinkMbps', 'error.topic', 'error.requestId']);
export const NULLABLE = new Set([
  'schedulerStatus.maxPredictedMs',
  'stats.p50Ms',
  'stats.p99Ms',
  'stats.lastMs',
  'stats.predictedMs',
]);
export const ID_FIELDS: { kind: MessageKind; path: Path }[] = [
  { kind: 'profile', path: ['model'] },
  { kind: 'infer', path: ['requestId'] },
  { kind: 'infer', path: ['model'] },
  { kind: 'result', path: ['requestId'] },
  { kind: 'result', path: ['worker'] },
  { kind: 'edgeStatus', path: ['models', 0, 'model'] },
  { kind: 'schedulerStatus', path: ['leaderId'] },
];
