/**
 * `npm run bench:network` (root): the lab on real namespaces and tbf-shaped links.
 *
 * 1. One UE per link class (3g, 4g, 5g, wifi uplinks), measuring: the estimate's error and its
 *    time to converge (first published estimate within 15% of the shaped rate that stays so),
 *    the prediction error of each offloading UE, then every uplink shaped down to 2 Mbps: the
 *    time from that change to the UE's first estimate published after it (and its value), and
 *    to the new decision at each UE.
 * 2. The same fleet and trace twice, links measured and links fixed at their catalog value
 *    (`--fixed-links`): achieved max and mean end-to-end task latency of each (a task still
 *    running at the end counts at the time it had run), in all and after the change, per UE.
 *
 * The measured links must achieve a lower max and a lower mean latency than the fixed ones
 * whenever the trace moves a rate by 2x or more (`aim` in the result).
 *
 * Usage: npm run bench:network [-- --duration 30 --change-at 15 --device rpi3-cpu --json --save]
 * (`--save`: also writes benchmarks/results/network-{date}.json, benchmarks/results.ts).
 */
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type LabObservations, type LabUe, runLab } from '../cli/lab/lab-run.js';
import { LINK_CLASSES } from '../dnn/index.js';
import { stopSignal } from '../runtime/shutdown.js';
import { renderTable } from '../runtime/table.js';
import { medianOrNaN as median } from '../stats/quantile.js';
import { BenchRun } from './results.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    'change-at': { type: 'string', default: '15' },
    'low-mbps': { type: 'string', default: '2' },
    device: { type: 'string', default: 'rpi3-cpu' },
    model: { type: 'string', default: 'resnet18' },
    json: { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
  },
});
const run = new BenchRun('network');
const durationS = Number(values.duration);
const changeAtS = Number(values['change-at']);
const lowMbps = Number(values['low-mbps']);
const cli = [process.execPath, fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))];
const log = (line: string) => process.stderr.write(`${line}\n`);

const CLASSES = ['3g', '4g', '5g', 'wifi'];
const THINK_MS = 200;
const ues: LabUe[] = CLASSES.map((id) => {
  const link = LINK_CLASSES.find((candidate) => candidate.id === id);
  if (link === undefined) throw new Error(`no link class ${id}`);
  return {
    id: `ue-${id}`,
    model: values.model,
    device: values.device,
    uplinkMbps: link.uplinkMbps,
    downlinkMbps: 100,
    reported: { uplinkMbps: link.uplinkMbps, rttMs: link.rttMs, downlinkMbps: link.downlinkMbps },
  };
});

async function lab(fixedLinks: boolean) {
  const controller = new AbortController();
  const run = runLab({
    ues,
    durationS,
    steps: [{ atS: changeAtS, mbps: lowMbps }],
    fixedLinks,
    thinkMs: THINK_MS,
    batch: 1,
    probeIntervalS: 10,
    workers: 1,
    units: 4,
    signal: controller.signal,
    log,
    cli,
  });
  // SIGINT or SIGTERM stops this run (the lab cleans up its namespaces); the handlers go with it.
  void stopSignal({ done: run }).then((signal) => {
    if (signal !== undefined) controller.abort();
  });
  return run;
}

/** Seconds from the start to the first estimate within 15% that stays so until `untilAt`. */
function convergence(o: LabObservations, ue: string, shaped: number, untilAt: number) {
  const links = o.links.filter((l) => l.ue === ue && l.at < untilAt && l.source === 'measured');
  let since: number | undefined;
  for (const link of links) {
    const ok = Math.abs(link.uplinkMbps - shaped) / shaped <= 0.15;
    if (ok && since === undefined) since = link.at;
    if (!ok) since = undefined;
  }
  const last = links.at(-1);
  return {
    estimate: last?.uplinkMbps ?? null,
    errorPct: last === undefined ? null : (100 * Math.abs(last.uplinkMbps - shaped)) / shaped,
    // An agent probes as soon as it is online, before the clock starts with the last one: 0.
    convergeS: since === undefined ? null : Math.max(0, since - o.startedAt) / 1000,
  };
}

/**
 * After the change at `changeAt`: when the UE first published a measured estimate (ms) and
 * which, so that an adaptation's time splits into estimating and deciding.
 */
function firstEstimateAfter(o: LabObservations, ue: string, changeAt: number) {
  const link = o.links.find((l) => l.ue === ue && l.at > changeAt && l.source === 'measured');
  const after = o.links.filter((l) => l.ue === ue && l.at > changeAt);
  return {
    estimateAfterChangeMs: link === undefined ? null : Math.round(link.at - changeAt),
    firstEstimateMbps: link?.uplinkMbps ?? null,
    // Every estimate published after the change: [ms after it, Mbps].
    estimatesAfterChange: after.map((l) => [Math.round(l.at - changeAt), l.uplinkMbps] as const),
    decisionsAfterChange: o.decisions
      .filter((d) => d.ue === ue && d.at > changeAt)
      .map((d) => [Math.round(d.at - changeAt), d.cut] as const),
  };
}

/** Median |measured - predicted| / predicted of a UE's offloaded tasks before the change. */
function predictionError(o: LabObservations, ue: string, localCut: number, untilAt: number) {
  const tasks = o.tasks.filter(
    (t) => t.ue === ue && t.ok && t.cut < localCut && t.at >= o.startedAt + 5000 && t.at < untilAt,
  );
  if (tasks.length === 0) return null;
  return median(tasks.map((t) => Math.abs(t.measuredMs - t.predictedMs) / t.predictedMs));
}

/**
 * Max and mean latency of the tasks that ended from `from` on (ms since the epoch), with each
 * UE's task still running at the end of the run (none of its tasks ended after it) counted at
 * the time it had run then: a lower bound, but a task stuck on a link that fell must not drop
 * out of the figures (a 40 Mbps UE's upload at the fall to 2 Mbps was not done 15 s later).
 */
function latencies(o: LabObservations, from = Number.NEGATIVE_INFINITY) {
  const endAt = o.startedAt + o.durationMs;
  const all = o.tasks.filter((t) => t.ok && t.at >= from).map((t) => t.measuredMs);
  let unfinished = 0;
  for (const { ue } of o.ues) {
    const ended = o.tasks.filter((t) => t.ue === ue).map((t) => t.at);
    const lastEnd = ended.length === 0 ? o.startedAt : Math.max(...ended);
    const running = endAt - lastEnd - THINK_MS;
    if (lastEnd < endAt && running > 0 && o.tasks.some((t) => t.ue === ue)) {
      all.push(running);
      unfinished += 1;
    }
  }
  return {
    tasks: all.length,
    unfinished,
    maxMs: all.length === 0 ? null : Math.max(...all),
    meanMs: all.length === 0 ? null : all.reduce((a, b) => a + b, 0) / all.length,
  };
}

/** The same, per UE, for the tasks that ended after the rate change. */
function afterChange(o: LabObservations) {
  const at = o.changes[0]?.at ?? Number.POSITIVE_INFINITY;
  return Object.fromEntries(
    ues.map((ue) => [ue.id, latencies({ ...o, tasks: o.tasks.filter((t) => t.ue === ue.id) }, at)]),
  );
}

const fmt = (value: number | null, digits = 1) => (value === null ? '-' : value.toFixed(digits));

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
log(`bench:network: load average ${load()} at the start`);
log(
  `bench:network: ${ues.length} UEs (${CLASSES.join(', ')}), ${values.model} on ${values.device}, ${durationS} s, uplinks to ${lowMbps} Mbps at ${changeAtS} s`,
);
const measured = await lab(false);
const o = measured.observations;
const changeAt = o.changes[0]?.at ?? Number.POSITIVE_INFINITY;
const { modelCuts } = await import('../dnn/index.js');
const localCut = modelCuts(values.model).length - 1;
const perClass = ues.map((ue) => {
  const c = convergence(o, ue.id, ue.uplinkMbps, changeAt);
  const adaptation = measured.report.adaptations.find((a) => a.ue === ue.id);
  return {
    ue: ue.id,
    shapedMbps: ue.uplinkMbps,
    estimatedMbps: c.estimate,
    errorPct: c.errorPct,
    convergeS: c.convergeS,
    predictionError: predictionError(o, ue.id, localCut, changeAt),
    ...firstEstimateAfter(o, ue.id, changeAt),
    decisionAfterChangeMs: adaptation?.newDecisionAfterMs ?? null,
    cut: `${adaptation?.oldCut ?? '-'} -> ${adaptation?.newCut ?? '-'}`,
  };
});
log('bench:network: the same fleet and trace with links fixed at their catalog value');
const fixed = await lab(true);
const side = {
  measured: {
    ...latencies(o),
    ok: measured.report.ok,
    failed: measured.report.failed,
    afterChange: afterChange(o),
    /** Tasks whose upload ran late and whose tail ran on the device, per UE. */
    fallbacks: measured.report.fallbacks,
  },
  fixed: {
    ...latencies(fixed.observations),
    ok: fixed.report.ok,
    failed: fixed.report.failed,
    afterChange: afterChange(fixed.observations),
  },
};

// The trace's largest move of a UE's rate, as a ratio (>= 1).
const largestMove = Math.max(
  1,
  ...ues.map((ue) => Math.max(ue.uplinkMbps / lowMbps, lowMbps / ue.uplinkMbps)),
);
const lower = (a: number | null, b: number | null) => a !== null && b !== null && a < b;
const aim = {
  applies: largestMove >= 2,
  largestMove,
  maxLower: lower(side.measured.maxMs, side.fixed.maxMs),
  meanLower: lower(side.measured.meanMs, side.fixed.meanMs),
};
const met = !aim.applies || (aim.maxLower && aim.meanLower);
/** The prediction's aim: the median over offloading UEs of their median error, at most 15%. */
const PREDICTION_AIM = 0.15;
const offloadingErrors = perClass
  .map((row) => row.predictionError)
  .filter((error): error is number => error !== null);
const prediction = {
  offloadingUes: offloadingErrors.length,
  offloadingP50: offloadingErrors.length === 0 ? null : median(offloadingErrors),
  aim: PREDICTION_AIM,
};
const predictionMet =
  prediction.offloadingP50 === null ? null : prediction.offloadingP50 <= PREDICTION_AIM;
const result = {
  settings: { durationS, changeAtS, lowMbps, device: values.device, model: values.model },
  perClass,
  side,
  aim: { ...aim, met },
  prediction: { ...prediction, met: predictionMet },
};
log(`bench:network: load average ${load()} at the end`);
if (values.save) log(`saved ${run.save(result)}`);
if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else {
  process.stdout.write(
    `${renderTable(
      [
        'UE',
        'shaped Mbps',
        'estimate',
        'error %',
        'converge s',
        'pred. error',
        'first estimate after change',
        'decision after change ms',
        'cut',
      ],
      perClass.map((row) => [
        row.ue,
        fmt(row.shapedMbps),
        fmt(row.estimatedMbps, 2),
        fmt(row.errorPct),
        fmt(row.convergeS, 2),
        row.predictionError === null ? 'local' : `${(100 * row.predictionError).toFixed(1)}%`,
        row.estimateAfterChangeMs === null
          ? '-'
          : `${row.estimateAfterChangeMs} ms: ${fmt(row.firstEstimateMbps, 2)} Mbps`,
        fmt(row.decisionAfterChangeMs, 0),
        row.cut,
      ]),
      'first-left',
    )}\n\n${perClass
      .map(
        (row) =>
          `${row.ue} after the change: estimates ${row.estimatesAfterChange.map(([ms, mbps]) => `${ms} ms ${mbps}`).join(', ') || '-'}; decisions ${row.decisionsAfterChange.map(([ms, cut]) => `${ms} ms cut ${cut}`).join(', ') || '-'}`,
      )
      .join('\n')}\n\n${renderTable(
      ['links', 'tasks', 'unfinished', 'max ms', 'mean ms', 'requests ok', 'failed'],
      (['measured', 'fixed'] as const).map((name) => [
        name,
        String(side[name].tasks),
        String(side[name].unfinished),
        fmt(side[name].maxMs),
        fmt(side[name].meanMs),
        String(side[name].ok),
        String(side[name].failed),
      ]),
      'first-left',
    )}\n\nafter the change (tasks, max ms, mean ms per UE): ${(['measured', 'fixed'] as const)
      .map(
        (name) =>
          `${name} ${ues
            .map((ue) => {
              const l = side[name].afterChange[ue.id];
              return `${ue.id} ${l?.tasks ?? 0}${l?.unfinished ? ` (${l.unfinished} unfinished)` : ''}/${fmt(l?.maxMs ?? null, 0)}/${fmt(l?.meanMs ?? null, 0)}`;
            })
            .join(', ')}`,
      )
      .join(
        '; ',
      )}\n\nmeasured: tasks whose upload ran late and whose tail ran on the device: ${side.measured.fallbacks.map((f) => `${f.ue} ${f.tasks}`).join(', ')}\n\n${
      aim.applies
        ? `the trace moves a rate by ${largestMove.toFixed(1)}x: measured links ${met ? 'lower' : 'NOT lower'} in max (${aim.maxLower ? 'yes' : 'no'}) and mean (${aim.meanLower ? 'yes' : 'no'})`
        : 'the trace moves no rate by 2x or more'
    }\nprediction error, median over the ${prediction.offloadingUes} offloading UEs of their medians: ${
      prediction.offloadingP50 === null
        ? 'no UE offloaded'
        : `${(100 * prediction.offloadingP50).toFixed(1)}% (aim <= 15%: ${predictionMet ? 'met' : 'MISSED'})`
    }\n`,
  );
}
