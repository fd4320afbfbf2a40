import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BenchRun } from './results.js';
import { type BrokerAuthResult, measureBrokerAuth } from './system-broker-auth.js';
import { type ClaimCheckResult, claimLine, measureClaimCheck } from './system-claim.js';
import { type FloodResult, floodLines, floodPlanOf, measureFlood } from './system-flood.js';
import { loopbackCeiling, measureLoopback } from './system-loopback.js';
import {
  METRICS_MODES,
  type MetricsMode,
  metricsComparisons,
  metricsCostLines,
} from './system-metrics-cost.js';
import {
  type BrokerRun,
  printTable,
  type RunSettings,
  TARGETS,
  targetChecks,
} from './system-report.js';
import { benchBroker, SCENARIOS, type Scenario, sizesOf } from './system-run.js';
import { BROKER_KINDS, type BrokerKind, LAYOUTS, type Layout } from './system-stack.js';

/**
 * `npm run bench:system [-- --quick] [--json] [--save] [--brokers embedded,mosquitto]
 *   [--only reaction,requests,flood] [--layout single|processes] [--edge-workers 1] [--seed 3]
 *   [--metrics on,off] [--pairs 3]`
 *
 * For each broker (the embedded aedes broker and a private Mosquitto): the reaction time from a
 * link change to the new decision at N = 200 UEs, and the overhead of a zero-compute request
 * through broker, ingress, BullMQ and edge workers, one at a time and under load. Once, for the
 * embedded broker: login time and round trips of a legitimate client during floods. With
 * `--metrics on,off`, each broker's scenarios run twice, the services' metrics on then off,
 * and the figures are compared side by side (system-metrics-cost.ts). The loads through the
 * project and through the bare path run as `--pairs` alternating pairs (3, or 1 with `--quick`),
 * and each ratio to the bare path is the median of the pairs' ratios.
 */

interface Args {
  readonly brokers: readonly BrokerKind[];
  readonly scenarios: readonly Scenario[];
  readonly layout: Layout;
  readonly quick: boolean;
  readonly json: boolean;
  readonly save: boolean;
  readonly seed: number;
  readonly edgeWorkers: number;
  /** Metrics modes to run, in order; empty: metrics off, not compared. */
  readonly metrics: readonly MetricsMode[];
  /** Alternating pairs of project and bare path loads. */
  readonly pairs: number;
}

function listOf<T extends string>(flag: string, text: string, known: readonly T[]): T[] {
  const items = text.split(',').map((item) => item.trim());
  for (const item of items)
    if (!(known as readonly string[]).includes(item))
      throw new RangeError(`--${flag}: "${item}" is not one of ${known.join(', ')}`);
  return items as T[];
}

function parseCliArgs(argv: readonly string[]): Args {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      brokers: { type: 'string', default: BROKER_KINDS.join(',') },
      only: { type: 'string', default: SCENARIOS.join(',') },
      layout: { type: 'string', default: 'single' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      save: { type: 'boolean', default: false },
      seed: { type: 'string', default: '3' },
      'edge-workers': { type: 'string', default: '1' },
      metrics: { type: 'string' },
      pairs: { type: 'string' },
    },
  });
  const layout = values.layout as Layout;
  if (!LAYOUTS.includes(layout))
    throw new RangeError(`--layout must be one of ${LAYOUTS.join(', ')}`);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`--seed: bad seed "${seed}"`);
  const edgeWorkers = Number(values['edge-workers']);
  if (!Number.isSafeInteger(edgeWorkers) || edgeWorkers < 1 || edgeWorkers > 8)
    throw new RangeError('--edge-workers must be an integer from 1 to 8');
  const pairs = Number(values.pairs ?? (values.quick ? 1 : 3));
  if (!Number.isSafeInteger(pairs) || pairs < 1 || pairs > 9)
    throw new RangeError('--pairs must be an integer from 1 to 9');
  return {
    brokers: listOf('brokers', values.brokers, BROKER_KINDS),
    scenarios: listOf('only', values.only, SCENARIOS),
    layout,
    quick: values.quick,
    json: values.json,
    save: values.save,
    seed,
    edgeWorkers,
    metrics: values.metrics === undefined ? [] : listOf('metrics', values.metrics, METRICS_MODES),
    pairs,
  };
}

/** The claim check's tensor: the request scenario's (resnet18 after layer4.0). */
const REQUEST_TENSOR_BYTES = 100_352;

function authLine(a: BrokerAuthResult): string {
  const list = (values: readonly number[]) => values.map((v) => v.toFixed(0)).join(', ');
  return (
    `Embedded broker with authentication and ACLs: ${list(a.embedded)} QoS 1 messages/s of ` +
    `${a.bytes.toLocaleString('en-US')} bytes against raw aedes ${list(a.rawAedes)} ` +
    `(alternating; median ratio ${a.ratio.toFixed(2)}, target >= 0.9).`
  );
}

async function main(): Promise<number> {
  const args = parseCliArgs(process.argv.slice(2));
  const run = new BenchRun('system');
  const runId = randomBytes(3).toString('hex');
  const runs: BrokerRun[] = [];
  const perBroker = args.scenarios.some((scenario) => scenario !== 'flood');
  for (const broker of perBroker ? args.brokers : []) {
    const log = (line: string) => {
      if (!args.json) process.stderr.write(`${broker}: ${line}\n`);
    };
    const options = {
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      layout: args.layout,
      scenarios: args.scenarios,
      quick: args.quick,
      seed: args.seed,
      edgeWorkers: args.edgeWorkers,
      pairs: args.pairs,
      log,
    };
    if (args.metrics.length === 0) runs.push(await benchBroker(options, broker, runId));
    if (args.metrics.length > 0) {
      // The first run in a process pays for JIT compilation and cold connections; without
      // this discarded round, whichever mode comes first would look slower.
      log('warm-up round (quick, not counted):');
      await benchBroker(
        { ...options, quick: true, metrics: args.metrics[0] === 'on' },
        broker,
        runId,
      );
    }
    for (const mode of args.metrics) {
      log(`metrics ${mode}:`);
      runs.push(await benchBroker({ ...options, metrics: mode === 'on' }, broker, runId));
    }
  }
  let flood: FloodResult | undefined;
  if (args.scenarios.includes('flood')) {
    if (!args.json) process.stderr.write('embedded: logins and round trips during floods ...\n');
    flood = await measureFlood(floodPlanOf(args.quick), (line) => {
      if (!args.json) process.stderr.write(`embedded: ${line}\n`);
    });
  }
  let claimCheck: ClaimCheckResult | undefined;
  if (args.scenarios.includes('requests')) {
    if (!args.json) process.stderr.write('the claim check against SET + GET ...\n');
    const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    claimCheck = await measureClaimCheck(
      redisUrl,
      `bench-${runId}-claim`,
      REQUEST_TENSOR_BYTES,
      args.quick ? 1000 : 5000,
    );
  }
  let brokerAuth: BrokerAuthResult | undefined;
  if (args.scenarios.includes('requests') && args.brokers.includes('embedded')) {
    if (!args.json) process.stderr.write('the embedded broker with auth against raw aedes ...\n');
    const plan = { ...sizesOf(args.quick).ceiling, bytes: REQUEST_TENSOR_BYTES };
    brokerAuth = await measureBrokerAuth(`bench-${runId}-auth`, plan, args.quick ? 1 : 3);
  }
  const loopback = await measureLoopback();
  const targets = targetChecks(runs);
  const settings: RunSettings = {
    layout: args.layout,
    quick: args.quick,
    edgeWorkers: args.edgeWorkers,
    seed: args.seed,
  };
  const tensorBytes = runs.find((run) => run.concurrent)?.concurrent?.tensorBytes;
  const machine = {
    loopback,
    ...(tensorBytes === undefined
      ? {}
      : { ceiling: loopbackCeiling(loopback, tensorBytes, TARGETS.perSecond) }),
  };
  const metricsCost = metricsComparisons(runs);
  const extra = {
    metricsCost,
    ...(claimCheck === undefined ? {} : { claimCheck }),
    ...(brokerAuth === undefined ? {} : { brokerAuth }),
    ...(flood === undefined ? {} : { flood }),
  };
  if (args.save)
    process.stderr.write(`saved ${run.save({ settings, runs, targets, machine, ...extra })}\n`);
  if (args.json)
    process.stdout.write(
      `${JSON.stringify({ settings, runs, targets, machine, ...extra }, null, 2)}\n`,
    );
  else {
    // With --only flood there is no per-broker table to print.
    if (runs.length > 0) printTable(runs, targets, settings, machine);
    if (claimCheck !== undefined) process.stdout.write(`\n${claimLine(claimCheck)}\n`);
    if (brokerAuth !== undefined) process.stdout.write(`${authLine(brokerAuth)}\n`);
    const cost = metricsCostLines(runs);
    if (cost.length > 0) process.stdout.write(`${cost.join('\n')}\n`);
    if (flood !== undefined) process.stdout.write(`\n${floodLines(flood).join('\n')}\n`);
  }
  return 0;
}

process.exitCode = await main();
