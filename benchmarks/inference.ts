/**
 * `npm run bench:inference [-- --json] [--save] [--models a,b] [--runs N] [--prediction-s S]
 * [--claim-dir DIR]`: real ONNX Runtime inference per zoo model, and the queue and transport
 * overhead of VGG-16 tails at cuts 0 to 5; with `--claim-dir`, that overhead again with the
 * tensors in files of DIR (a tmpfs) instead of Redis, after it.
 */
import { parseArgs } from 'node:util';
import { formatPredictionErrors } from '../agents/index.js';
import { listModels } from '../dnn/index.js';
import { renderTable } from '../runtime/table.js';
import { benchModel, type ModelRow } from './inference-models.js';
import { benchOverhead, type OverheadRow } from './inference-overhead.js';
import { benchPrediction, type UeError } from './inference-prediction.js';
import { BenchRun, wantsSave } from './results.js';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
    models: { type: 'string' },
    runs: { type: 'string', default: '5' },
    'prediction-s': { type: 'string', default: '40' },
    'claim-dir': { type: 'string' },
  },
});
const count = (name: string, text: string): number => {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`--${name} must be a positive whole number, not ${JSON.stringify(text)}`);
  return value;
};

const run = new BenchRun('inference');
const json = values.json;
const models = values.models?.split(',') ?? listModels();
const runs = count('runs', values.runs);
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const rows: ModelRow[] = [];
for (const model of models) rows.push(await benchModel(model, runs));
const overhead: OverheadRow[] = await benchOverhead('vgg16', [0, 1, 2, 3, 4, 5], runs, redisUrl);
const claimDir = values['claim-dir'];
const overheadClaimDir: OverheadRow[] | undefined =
  claimDir === undefined
    ? undefined
    : await benchOverhead('vgg16', [0, 1, 2, 3, 4, 5], runs, redisUrl, claimDir);
const worst = Math.max(...overhead.map((row) => row.fraction));
const prediction = await benchPrediction(count('prediction-s', values['prediction-s']), redisUrl);

const result = {
  models: rows,
  overhead,
  ...(overheadClaimDir === undefined ? {} : { overheadClaimDir, claimDir }),
  target: { maxFraction: 0.1, worst, met: worst <= 0.1 },
  prediction,
};
if (wantsSave()) process.stderr.write(`saved ${run.save(result)}\n`);
if (json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const f = (value: number) => (value >= 100 ? value.toFixed(0) : value.toFixed(2));
  const lines = [
    renderTable(
      ['model', 'cuts', 'load ms', 'session ms', 'full ms'],
      rows.map((row) => [
        row.model,
        String(row.cuts),
        f(row.loadMs),
        f(row.sessionMs),
        f(row.fullMs),
      ]),
      'first-left',
    ),
  ];
  lines.push('', 'head / tail ms per cut (one sample, one thread; medians)');
  for (const row of rows)
    lines.push(
      `${row.model}: ${row.perCut.map((cut) => `${cut.name} ${f(cut.headMs)}/${f(cut.tailMs)}`).join(', ')}`,
    );
  const overheadTable = (overheadRows: readonly OverheadRow[]) =>
    renderTable(
      ['cut', 'name', 'tensor KiB', 'compute ms', 'round trip ms', 'overhead ms', 'overhead'],
      overheadRows.map((row) => [
        String(row.cut),
        row.cutName,
        (row.tensorBytes / 1024).toFixed(0),
        f(row.computeMs),
        f(row.roundTripMs),
        f(row.overheadMs),
        `${(row.fraction * 100).toFixed(1)}%`,
      ]),
    );
  lines.push(
    '',
    'VGG-16 tails through broker, ingress, BullMQ and an ONNX edge worker',
    overheadTable(overhead),
  );
  if (overheadClaimDir !== undefined)
    lines.push(
      '',
      `the same with the tensors in files of ${claimDir} (EDGESPLIT_CLAIM_DIR)`,
      overheadTable(overheadClaimDir),
    );
  lines.push(
    '',
    `target: overhead <= 10% of tail compute for VGG-16 cuts <= 5: ${worst <= 0.1 ? 'met' : 'missed'} (worst ${(worst * 100).toFixed(1)}%)`,
  );
  const pct = (value: number | null) => (value === null ? '-' : `${value.toFixed(1)}%`);
  const perUe = (ues: readonly UeError[]) =>
    ues.length === 0
      ? 'none'
      : ues.map((ue) => `${ue.id} ${pct(ue.errorP50Pct)} (${ue.tasks})`).join(', ');
  const offloaded = prediction.predictionError.offloaded.ueMedianP50Pct;
  lines.push(
    '',
    `prediction in an up-like run (12 UEs, real inference): ${prediction.requests} requests, ${prediction.ok} ok`,
    formatPredictionErrors(prediction.predictionError),
    `per-UE median error, offloaded tasks: ${perUe(prediction.offloadedUes)}`,
    `per-UE median error, local tasks: ${perUe(prediction.localUes)}`,
    `median over offloading UEs: ${pct(offloaded)} (target <= 15%: ${offloaded === null ? 'no offloading UE' : offloaded <= 15 ? 'met' : 'missed'})`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
process.exit(0);
