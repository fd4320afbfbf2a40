/**
 * One registry per process (docs/operations.md): the metric sets of the components the process
 * runs register on it, and its readiness checks on its health. Counters the components keep
 * anyway (`stats()`) are read when Prometheus scrapes, so the hot paths pay nothing for them.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Default cap of per-UE series (`--metrics-ue-cap`). */
export const DEFAULT_UE_CAP = 100;

/** Options of a process's metrics. */
export interface MetricsOptions {
  /** Per-UE series at all (`--metrics-per-ue on|off`). @defaultValue true */
  readonly perUe?: boolean;
  /** Most UEs with series of their own; the rest share `ue="other"`. @defaultValue 100 */
  readonly ueCap?: number;
  /** Node.js process metrics (`process_*`, `nodejs_*`). @defaultValue true */
  readonly processMetrics?: boolean;
}

/** One readiness condition: its name (shown by `/readyz` when it fails) and its test. */
export interface ReadinessCheck {
  readonly name: string;
  ready(): boolean;
}

/** Connection probes of one component, read at each scrape and by `/readyz`. */
export interface ConnectionProbes {
  readonly mqtt?: () => boolean;
  readonly redis?: () => boolean;
}

/** Label value of a UE: its id for the first `cap` UEs seen, `other` for the rest. */
export class UeLabels {
  readonly #known = new Set<string>();
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  label(ue: string): string {
    if (this.#known.has(ue)) return ue;
    if (this.#known.size >= this.#cap) return OTHER_UE;
    this.#known.add(ue);
    return ue;
  }

  get size(): number {
    return this.#known.size;
  }
}

/** How long one rendering of `/metrics` answers further scrapes, in ms. */
export const RENDER_REUSE_MS = 250;

/** The label value of every UE beyond the cap (or of all when per-UE series are off). */
export const OTHER_UE = 'other';

/** The registry, the readiness checks and the per-UE policy of one process. */
export class ProcessMetrics {
  readonly registry = new Registry();
  /** Per-UE series allowed for this many UEs (0 when per-UE series are off). */
  readonly ueCap: number;
  readonly #checks: ReadinessCheck[] = [];
  readonly #mqtt = new Map<string, () => boolean>();
  readonly #redis = new Map<string, () => boolean>();
  #rendered: Promise<{ readonly contentType: string; readonly text: string }> | undefined;
  #renderedAt = Number.NEGATIVE_INFINITY;

  constructor(options: MetricsOptions = {}) {
    const cap = options.ueCap ?? DEFAULT_UE_CAP;
    if (!Number.isSafeInteger(cap) || cap < 0)
      throw new RangeError(`ueCap must be a non-negative integer, not ${cap}`);
    this.ueCap = options.perUe === false ? 0 : cap;
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    const mqtt = this.#mqtt;
    const redis = this.#redis;
    new Gauge({
      name: 'edgesplit_mqtt_connected',
      help: 'Whether the component is connected to the MQTT broker (1) or not (0)',
      labelNames: ['component'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [component, probe] of mqtt) this.set({ component }, probe() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'edgesplit_redis_connected',
      help: 'Whether the component is connected to Redis (1) or not (0)',
      labelNames: ['component'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [component, probe] of redis) this.set({ component }, probe() ? 1 : 0);
      },
    });
  }

  /** A fresh per-UE label mapper under this process's cap. */
  ueLabels(): UeLabels {
    return new UeLabels(this.ueCap);
  }

  /** Adds a condition `/readyz` requires. */
  requireReady(check: ReadinessCheck): void {
    this.#checks.push(check);
  }

  /**
   * Exports a component's connection states and makes each a readiness condition. `component`
   * names it among the others of the process (`scheduler`, `edge-worker w1`, `ingress`...).
   * `needed` says when a connection is required (a standby scheduler holds no MQTT connection).
   */
  watchConnections(
    component: string,
    probes: ConnectionProbes,
    needed: { readonly mqtt?: () => boolean } = {},
  ): void {
    const { mqtt, redis } = probes;
    if (mqtt !== undefined) {
      this.#mqtt.set(component, mqtt);
      const when = needed.mqtt ?? (() => true);
      this.requireReady({ name: `${component} connected to MQTT`, ready: () => !when() || mqtt() });
    }
    if (redis !== undefined) {
      this.#redis.set(component, redis);
      this.requireReady({ name: `${component} connected to Redis`, ready: redis });
    }
  }

  /**
   * The body of `/metrics`: every metric of the registry in the Prometheus text format, as
   * `registry.metrics()` writes it, but one metric per turn of the event loop, so that a scrape
   * does not hold the process for all of them at once (messages and requests are handled in
   * between). Scrapes within {@link RENDER_REUSE_MS} of a rendering (several Prometheus servers,
   * a probe) share it, as they share the components' stats ({@link sampled}).
   */
  render(): Promise<{ readonly contentType: string; readonly text: string }> {
    const now = performance.now();
    if (this.#rendered === undefined || now - this.#renderedAt >= RENDER_REUSE_MS) {
      this.#renderedAt = now;
      const rendering = this.renderInTurns().then((text) => ({
        contentType: this.registry.contentType,
        text,
      }));
      // A failed rendering is not reused.
      rendering.catch(() => {
        if (this.#rendered === rendering) this.#rendered = undefined;
      });
      this.#rendered = rendering;
    }
    return this.#rendered;
  }

  private async renderInTurns(): Promise<string> {
    const parts: string[] = [];
    for (const { name } of this.registry.getMetricsAsArray()) {
      await nextTurn();
      if (this.registry.getSingleMetric(name) !== undefined)
        parts.push(await this.registry.getSingleMetricAsString(name));
    }
    return `${parts.join('\n\n')}\n`;
  }

  /** The names of the conditions not met now; empty when the process is ready. */
  notReady(): string[] {
    const failing: string[] = [];
    for (const check of this.#checks) {
      let ok = false;
      try {
        ok = check.ready();
      } catch {
        ok = false;
      }
      if (!ok) failing.push(check.name);
    }
    // A process with nothing to be ready for (no component registered yet) is not ready.
    if (this.#checks.length === 0) failing.push('starting');
    return failing;
  }
}

/** A metric's name, help and label names. */
interface ReadSpec<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

/** Hands each value `read` reports, with its labels, to `put`. */
type Reader<L extends string> = (
  set: (value: number, labels?: Partial<Record<L, string>>) => void,
) => void;

/**
 * A counter whose values are read from a component's own counts at each scrape (the component
 * keeps them anyway): `read` returns the value of each label set.
 */
export function countedCounter<L extends string>(
  metrics: ProcessMetrics,
  spec: ReadSpec<L>,
  read: Reader<L>,
): Counter<L> {
  return new Counter<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [metrics.registry],
    collect() {
      this.reset();
      read((value, labels) => this.inc((labels ?? {}) as Record<L, string>, value));
    },
  });
}

/** A gauge read at each scrape, like {@link countedCounter}. */
export function readGauge<L extends string>(
  metrics: ProcessMetrics,
  spec: ReadSpec<L>,
  read: Reader<L>,
): Gauge<L> {
  return new Gauge<L>({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [metrics.registry],
    collect() {
      this.reset();
      read((value, labels) => this.set((labels ?? {}) as Record<L, string>, value));
    },
  });
}

/** Duration buckets in seconds, from 1 ms to 30 s. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/**
 * `read`, called at most once per `ms`: the metrics of one scrape that read the same stats
 * share one reading.
 */
export function sampled<T>(read: () => T, ms = 250): () => T {
  let value: T | undefined;
  let at = Number.NEGATIVE_INFINITY;
  return () => {
    const now = performance.now();
    if (value === undefined || now - at >= ms) {
      value = read();
      at = now;
    }
    return value;
  };
}
