import type { IClientOptions } from 'mqtt';
import {
  DEVICE_CLASSES,
  type DeviceClass,
  type DeviceCut,
  deviceProfile,
  EmulatedExecutor,
  type Executor,
  hasModel,
  listModels,
  modelCuts,
} from '../dnn/index.js';
import {
  assertTopicPrefix,
  DEFAULT_TOPIC_PREFIX,
  isValidId,
  MAX_BATCH,
  MAX_STATS_WINDOW_MS,
  type Profile,
  STATS_INTERVAL_MS,
  validateMessage,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { defined } from '../runtime/defined.js';
import { checkLinkRates, type LinkMode, type LinkRates } from './emulated-link.js';
import { AgentOptionsError } from './errors.js';

/** What the agent does with a task that starts before its first decision has arrived. */
export type BeforeDecision = 'wait' | 'local';

interface AgentBaseOptions {
  /** UE id, 1-64 characters of `[A-Za-z0-9._-]`. */
  readonly id: string;
  /** Zoo model the UE runs. */
  readonly model: string;
  /** Samples per task (B). @defaultValue 1 */
  readonly batch?: number;
  /** Multiplies the device times of the profile (and so the emulated head). @defaultValue 1 */
  readonly speedFactor?: number;
  /**
   * Current link rates; published retained on `ue/{ue}/link`, changed by `setLink`. With
   * `linkMode: 'measure'` only the starting point (optional: without it the first probe is).
   */
  readonly link?: LinkRates;
  /** @defaultValue `'emulated'` */
  readonly linkMode?: LinkMode;
  /** `measure`: probe when no upload was timed for this long. @defaultValue 10000 */
  readonly probeIntervalMs?: number;
  /** `measure`: publish the link at most this often. @defaultValue 1000 */
  readonly linkIntervalMs?: number;
  /**
   * `measure`: a task whose upload runs late, and whose unacknowledged bytes would take longer
   * than its tail takes on the device, runs that tail on the device (the edge's answer, when it
   * comes, is dropped). @defaultValue true
   */
  readonly localFallback?: boolean;
  /**
   * `measure`: publish when the estimate moved by this much (relative); the scheduler's own
   * hysteresis. @defaultValue 0.1
   */
  readonly linkHysteresis?: number;
  /** Runs the head. @defaultValue an EmulatedExecutor over the device profile */
  readonly executor?: Executor;
  /** Broker URL, e.g. `mqtt://127.0.0.1:1883`. */
  readonly mqttUrl: string;
  readonly username?: string;
  readonly password?: string;
  /** @defaultValue `edgesplit/v1` */
  readonly topicPrefix?: string;
  /** @defaultValue `agent-{id}` (stable, so the broker keeps the session across reconnects) */
  readonly clientId?: string;
  /** A request with no result for this long is published again. @defaultValue 10000 */
  readonly requestTimeoutMs?: number;
  /** Re-publications of a request before it fails. @defaultValue 3 */
  readonly maxRetries?: number;
  /** Pause between tasks in loop mode (`start`). @defaultValue 0 */
  readonly thinkTimeMs?: number;
  /** @defaultValue `'wait'` */
  readonly beforeDecision?: BeforeDecision;
  /** How long a task waits for the first decision before it fails. @defaultValue 30000 */
  readonly decisionWaitMs?: number;
  /** Most task records `stats().latencies` keeps (the oldest go first). @defaultValue 100000 */
  readonly historyLimit?: number;
  /** Publish `ue/{ue}/stats` this often; 0: never. @defaultValue 2000 */
  readonly statsIntervalMs?: number;
  /** The window of tasks that `ue/{ue}/stats` summarises. @defaultValue 30000 */
  readonly statsWindowMs?: number;
  /** Extra mqtt.js options (TLS material, keepalive, reconnectPeriod, ...). */
  readonly mqttOptions?: IClientOptions;
}

/** Device speed: a catalog device class id, or any `{ gflops }`. */
export type DeviceSpec = string | Pick<DeviceClass, 'gflops'>;

/** Options of `startAgent`: a device (class id or speed) or an explicit device profile. */
export type AgentOptions = AgentBaseOptions &
  (
    | { readonly device: DeviceSpec; readonly profile?: never }
    | {
        /** Device time and bytes per cut of `model`, one sample, as measured on the device. */
        readonly profile: readonly DeviceCut[];
        readonly device?: never;
      }
  );

/** Options with defaults filled in and everything checked. */
export interface AgentConfig {
  readonly id: string;
  readonly model: string;
  readonly batch: number;
  /** What is published on `ue/{ue}/profile`, device times already scaled. */
  readonly profile: Profile;
  /** Shape of the model's input (one sample). */
  readonly inputShape: readonly number[];
  readonly link: LinkRates | undefined;
  readonly linkMode: LinkMode;
  readonly probeIntervalMs: number;
  readonly linkIntervalMs: number;
  readonly localFallback: boolean;
  readonly linkHysteresis: number;
  readonly executor: Executor;
  readonly mqttUrl: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly topicPrefix: string;
  readonly clientId: string;
  readonly requestTimeoutMs: number;
  readonly maxRetries: number;
  readonly thinkTimeMs: number;
  readonly beforeDecision: BeforeDecision;
  readonly decisionWaitMs: number;
  readonly historyLimit: number;
  readonly statsIntervalMs: number;
  readonly statsWindowMs: number;
  readonly mqttOptions: IClientOptions;
}

function statsWindow(value: number): number {
  if (!(Number.isFinite(value) && value > 0 && value <= MAX_STATS_WINDOW_MS))
    throw new AgentOptionsError(
      'statsWindowMs',
      `must be a number > 0 and <= ${MAX_STATS_WINDOW_MS}`,
    );
  return value;
}

function nonNegative(option: string, value: number, integer = false): number {
  if (!Number.isFinite(value) || value < 0 || (integer && !Number.isSafeInteger(value)))
    throw new AgentOptionsError(option, `must be ${integer ? 'an integer' : 'a number'} >= 0`);
  return value;
}

function positive(option: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0)) throw new AgentOptionsError(option, 'must be > 0');
  return value;
}

/** The starting link: required unless the agent measures it. */
function linkOption(options: AgentOptions): LinkRates | undefined {
  if (options.link !== undefined) return checkLinkRates(options.link);
  if (options.linkMode === 'measure') return undefined;
  throw new AgentOptionsError(
    'link',
    'give the link rates (only linkMode "measure" may omit them)',
  );
}

function deviceCuts(options: AgentOptions): readonly DeviceCut[] {
  if (options.profile !== undefined) {
    const expected = modelCuts(options.model).length;
    if (options.profile.length !== expected)
      throw new AgentOptionsError(
        'profile',
        `model "${options.model}" has ${expected} cuts, the profile has ${options.profile.length}`,
      );
    return options.profile;
  }
  const device = options.device;
  if (typeof device === 'string') {
    const found = DEVICE_CLASSES.find((candidate) => candidate.id === device);
    if (found === undefined) {
      const known = DEVICE_CLASSES.map((candidate) => candidate.id).join(', ');
      throw new AgentOptionsError('device', `unknown device class "${device}" (known: ${known})`);
    }
    return deviceProfile(options.model, found);
  }
  if (!(Number.isFinite(device.gflops) && device.gflops > 0))
    throw new AgentOptionsError('device.gflops', 'must be a finite number > 0');
  return deviceProfile(options.model, device);
}

/** Checks the options and fills in defaults; throws AgentOptionsError naming the bad option. */
export function resolveAgentOptions(options: AgentOptions): AgentConfig {
  if (!isValidId(options.id))
    throw new AgentOptionsError('id', 'must be 1-64 characters of [A-Za-z0-9._-]');
  if (!hasModel(options.model))
    throw new AgentOptionsError(
      'model',
      `unknown model "${options.model}" (known: ${listModels().join(', ')})`,
    );
  const batch = options.batch ?? 1;
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > MAX_BATCH)
    throw new AgentOptionsError('batch', `must be an integer from 1 to ${MAX_BATCH}`);
  const speed = nonNegative('speedFactor', options.speedFactor ?? 1);
  const cuts = deviceCuts(options).map((cut) => ({
    name: cut.name,
    deviceMs: cut.deviceMs * speed,
    bytes: cut.bytes,
  }));
  const zoo = modelCuts(options.model);
  const profile: Profile = {
    model: options.model,
    batch,
    resultBytes: defined(zoo.at(-1), `the output cut of model "${options.model}"`).bytes,
    cuts,
  };
  const checked = validateMessage('profile', profile);
  if (!checked.ok) throw new AgentOptionsError('profile', checked.error.issues.join('; '));
  const topicPrefix = options.topicPrefix ?? DEFAULT_TOPIC_PREFIX;
  try {
    assertTopicPrefix(topicPrefix);
  } catch (cause) {
    throw new AgentOptionsError('topicPrefix', asError(cause).message, { cause });
  }
  const requestTimeoutMs = nonNegative('requestTimeoutMs', options.requestTimeoutMs ?? 10_000);
  if (requestTimeoutMs === 0) throw new AgentOptionsError('requestTimeoutMs', 'must be > 0');
  const historyLimit = nonNegative('historyLimit', options.historyLimit ?? 100_000, true);
  return {
    id: options.id,
    model: options.model,
    batch,
    profile,
    inputShape: [...defined(zoo[0], `the input cut of model "${options.model}"`).shape],
    link: linkOption(options),
    linkMode: options.linkMode ?? 'emulated',
    probeIntervalMs: positive('probeIntervalMs', options.probeIntervalMs ?? 10_000),
    linkIntervalMs: nonNegative('linkIntervalMs', options.linkIntervalMs ?? 1000),
    localFallback: options.localFallback ?? true,
    linkHysteresis: nonNegative('linkHysteresis', options.linkHysteresis ?? 0.1),
    executor:
      options.executor ??
      new EmulatedExecutor({
        segmentMs: (model, from, to) =>
          defined(cuts[to], `cut ${to} of model "${model}"`).deviceMs -
          defined(cuts[from], `cut ${from} of model "${model}"`).deviceMs,
      }),
    mqttUrl: options.mqttUrl,
    username: options.username,
    password: options.password,
    topicPrefix,
    clientId: options.clientId ?? `agent-${options.id}`,
    requestTimeoutMs,
    maxRetries: nonNegative('maxRetries', options.maxRetries ?? 3, true),
    thinkTimeMs: nonNegative('thinkTimeMs', options.thinkTimeMs ?? 0),
    beforeDecision: options.beforeDecision ?? 'wait',
    decisionWaitMs: nonNegative('decisionWaitMs', options.decisionWaitMs ?? 30_000),
    historyLimit,
    statsIntervalMs: nonNegative('statsIntervalMs', options.statsIntervalMs ?? STATS_INTERVAL_MS),
    statsWindowMs: statsWindow(options.statsWindowMs ?? 30_000),
    mqttOptions: options.mqttOptions ?? {},
  };
}
