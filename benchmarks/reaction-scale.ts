/**
 * `npm run bench:reaction [-- --sizes 1000,10000] [--changes 200] [--brokers embedded,mosquitto]
 *   [--quick] [--json] [--save] [--seed 3] [--scenario contended|catalog|FILE]`
 *
 * The reaction of `bench:system` (a link change to the new decision at that UE's own
 * connection) at fleet sizes where the scheduler's per-change work shows: N UEs, each an MQTT
 * connection of the benchmark process, the broker and the scheduler processes of their own
 * (the built CLI, as deployed), so that their memory can be read apart: resident set size
 * (VmRSS) after the changes and its peak (VmHWM), from /proc. Fleets of the `contended`
 * scenario unless `--scenario` names another (docs/experiments.md, "Scenarios").
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadScenario, type Scenario } from '../dnn/index.js';
import { defined } from '../runtime/defined.js';
import { renderTable } from '../runtime/table.js';
import { deleteKeys } from '../system/index.js';
import { BenchRun } from './results.js';
import { type BrokerProcess, type Child, type ServiceEnv, startCli } from './system-children.js';
import { measureReaction, type ReactionResult } from './system-reaction.js';
import { BROKER_KINDS, type BrokerKind, startBroker, stopAll } from './system-stack.js';

/** Targets of issue #16 at N = 10,000. */
export const SCALE_TARGETS = { p50Ms: 20, p99Ms: 100 } as const;
/** The scheduler's leader lock life (its default is 3 s). */
const LOCK_TTL_MS = 30_000;
/** File descriptors the benchmark process needs: one per UE connection, and some. */
const SPARE_FDS = 500;

interface Memory {
  /** Resident set size after the changes, MiB. */
  readonly rssMiB: number;
  /** Its peak over the process's life, MiB. */
  readonly peakMiB: number;
}

interface ScaleRow {
  readonly broker: BrokerKind;
  readonly reaction: ReactionResult;
  readonly memory: { readonly broker: Memory; readonly scheduler: Memory; readonly bench: Memory };
  readonly loadAverage: readonly number[];
}

function memoryOf(pid: number | 'self'): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

/** The soft limit on open files of this process (Linux), or undefined if unknown. */
function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(limits)?.[1];
    return line === undefined || line === 'unlimited' ? undefined : Number(line);
  } catch {
    return undefined;
  }
}

function parse(argv: readonly string[]) {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      sizes: { type: 'string' },
      changes: { type: 'string' },
      brokers: { type: 'string', default: BROKER_KINDS.join(',') },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      save: { type: 'boolean', default: false },
      seed: { type: 'string', default: '3' },
      scenario: { type: 'string', default: 'contended' },
    },
  });
  const sizes = (values.sizes ?? (values.quick ? '1000' : '1000,10000')).split(',').map(Number);
  for (const n of sizes)
    if (!Number.isSafeInteger(n) || n < 10 || n > 50_000)
      throw new RangeError(`--sizes: ${n} is not a fleet size from 10 to 50,000`);
  const changes = Number(values.changes ?? (values.quick ? 50 : 200));
  if (!Number.isSafeInteger(changes) || changes < 1)
    throw new RangeError('--changes must be a positive integer');
  const brokers = values.brokers.split(',').map((b) => b.trim()) as BrokerKind[];
  for (const b of brokers)
    if (!BROKER_KINDS.includes(b)) throw new RangeError(`--brokers: unknown broker "${b}"`);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError('--seed: bad seed');
  return {
    sizes,
    changes,
    brokers,
    seed,
    scenario: values.scenario,
    json: values.json,
    save: values.save,
  };
}

async function measureOne(
  kind: BrokerKind,
  ues: number,
  changes: number,
  seed: number,
  scenario: Scenario,
  runId: string,
  log: (line: string) => void,
): Promise<ScaleRow> {
  const base = `bench-${runId}-${kind}-${ues}`;
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const partial = { redisUrl, topicPrefix: `${base}/reaction`, redisPrefix: `${base}-reaction` };
  const running: (Child | BrokerProcess)[] = [];
  try {
    const broker = await startBroker(kind, 'processes', partial);
    running.push(broker);
    const env: ServiceEnv = { ...partial, mqttUrl: broker.url };
    let scheduler: Child | undefined;
    let memory: ScaleRow['memory'] | undefined;
    // R grows with N, so that the share of offloading UEs stays that of bench:system's 200.
    const workers = 4;
    const unitsEach = Math.max(25, Math.round(ues / 8));
    log(`${kind}: N = ${ues}, R = ${workers * unitsEach} ...`);
    const reaction = await measureReaction(
      env.mqttUrl,
      env.topicPrefix,
      {
        ues,
        changes,
        seed,
        scenario,
        workers,
        unitsEach,
        firstDecisionMs: 120_000,
        maxPublished: changes * 25,
        measured: () => {
          memory = {
            broker: memoryOf(defined(broker.pids[0], `the ${kind} broker's process id`)),
            scheduler: memoryOf(defined(scheduler?.pids[0], "the scheduler's process id")),
            bench: memoryOf('self'),
          };
        },
      },
      async () => {
        scheduler = await startCli(
          'scheduler',
          // Taking in 3 N retained messages can hold the event loop past the default 3 s lock
          // life on a loaded 2-core machine; the reaction measured here is after that.
          ['scheduler', '--id', 'bench-scheduler', '--lock-ttl-ms', `${LOCK_TTL_MS}`],
          env,
          /started/,
          60_000,
        );
        running.push(scheduler);
        return scheduler;
      },
    );
    const measuredMemory = defined(memory, 'the memory taken when the reaction was measured');
    return { broker: kind, reaction, memory: measuredMemory, loadAverage: loadavg() };
  } catch (error) {
    for (const child of running)
      log(`${child.name}'s last lines:\n  ${(child.lastLines?.() ?? []).join('\n  ')}`);
    throw error;
  } finally {
    await stopAll(running);
    await deleteKeys(redisUrl, `${base}-*`);
  }
}

const f1 = (x: number) => x.toFixed(1);

function printRows(rows: readonly ScaleRow[]): void {
  const head = [
    'broker',
    'N',
    'R',
    'fleet',
    'measured',
    'p50 ms',
    'p99 ms',
    'max ms',
    'broker RSS MiB',
    'scheduler RSS MiB',
    'bench RSS MiB',
    'load',
  ];
  const lines = rows.map((r) => [
    r.broker,
    `${r.reaction.ues}`,
    `${r.reaction.units}`,
    `${r.reaction.scenario}, ${r.reaction.pinned ? 'pinned' : 'not pinned'}, ${r.reaction.localUes} local`,
    `${r.reaction.latency.count} / ${r.reaction.published}`,
    f1(r.reaction.latency.p50Ms),
    f1(r.reaction.latency.p99Ms),
    f1(r.reaction.latency.maxMs),
    `${f1(r.memory.broker.rssMiB)} (peak ${f1(r.memory.broker.peakMiB)})`,
    `${f1(r.memory.scheduler.rssMiB)} (peak ${f1(r.memory.scheduler.peakMiB)})`,
    f1(r.memory.bench.rssMiB),
    r.loadAverage.map((l) => l.toFixed(2)).join(' '),
  ]);
  process.stdout.write(`${renderTable(head, lines)}\n`);
  for (const r of rows.filter((r) => r.reaction.ues >= 10_000)) {
    const ok = (hit: boolean) => (hit ? 'met' : 'MISSED');
    process.stdout.write(
      `${r.broker}, N = ${r.reaction.ues}: p50 <= ${SCALE_TARGETS.p50Ms} ms ${ok(r.reaction.latency.p50Ms <= SCALE_TARGETS.p50Ms)}, ` +
        `p99 <= ${SCALE_TARGETS.p99Ms} ms ${ok(r.reaction.latency.p99Ms <= SCALE_TARGETS.p99Ms)}\n`,
    );
  }
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  const scenario = await loadScenario(args.scenario);
  const run = new BenchRun('reaction');
  const largest = Math.max(...args.sizes);
  const limit = openFileLimit();
  if (limit !== undefined && limit < largest + SPARE_FDS)
    throw new Error(
      `${largest} UE connections need about ${largest + SPARE_FDS} open files but this process ` +
        `may open ${limit}: raise it (ulimit -n) or use smaller --sizes`,
    );
  const runId = randomBytes(3).toString('hex');
  const log = (line: string) => {
    if (!args.json) process.stderr.write(`${line}\n`);
  };
  log(
    `cores ${(await import('node:os')).cpus().length}, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const rows: ScaleRow[] = [];
  for (const ues of args.sizes)
    for (const broker of args.brokers)
      rows.push(await measureOne(broker, ues, args.changes, args.seed, scenario, runId, log));
  const result = {
    targets: SCALE_TARGETS,
    changes: args.changes,
    seed: args.seed,
    scenario: scenario.name,
    rows,
  };
  if (args.save) process.stderr.write(`saved ${run.save(result)}\n`);
  if (args.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else printRows(rows);
  return 0;
}

process.exitCode = await main();
