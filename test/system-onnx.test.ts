import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleInput } from '../agents/index.js';
import { listModels, modelCuts, OnnxExecutor } from '../dnn/index.js';
import { type Decision, encodeMessage, type Tensor, ueTopic } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { startFleet, useSystem } from './system-fleet.js';
import { RunningSystem } from './system-harness.js';
import { waitUntil } from './wait-until.js';

/** Every model of the zoo. */
const MODELS = listModels();

function maxAbsDiff(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  let most = 0;
  for (const [i, x] of a.data.entries())
    most = Math.max(most, Math.abs(x - (b.data[i] ?? Number.NaN)));
  return most;
}

describe('real split inference through broker, ingress, queue and edge worker', () => {
  const started = useSystem();
  const local = new OnnxExecutor();
  afterAll(() => local.close());

  it('a UE receives what its own full local inference computes, at every cut tried', async () => {
    const system = await RunningSystem.start({
      broker: 'embedded',
      workers: 1,
      units: 12,
      workerArgs: ['--executor', 'onnx', '--models', MODELS.join(',')],
    });
    started.system = system;
    const fleet = await startFleet(system, MODELS.length, (index) => ({
      model: defined(MODELS[index], `model ${index}`),
      device: { gflops: 0.5 },
      link: { uplinkMbps: 1000, downlinkMbps: 1000, rttMs: 1 },
      executor: new OnnxExecutor(),
    }));
    started.fleet = fleet;
    await waitUntil('decisions', () => system.observer.decisions.size === MODELS.length);

    const check = async (label: string) => {
      for (const ue of fleet) {
        const task = await ue.agent.runTask();
        expect(task.ok, `${ue.agent.id} ${label}`).toBe(true);
        const { model } = ue.agent.profile;
        const last = modelCuts(model).length - 1;
        // Offloaded: the outputs came back from the edge worker's tail, one result per sample.
        expect(task.cut, `${model} ${label}`).toBeLessThan(last);
        expect(ue.delivered.size).toBe(ue.agent.counters().requests);
        for (const [sample, output] of task.outputs.entries()) {
          const expected = await local.run({
            model,
            from: 0,
            to: last,
            input: sampleInput(
              ue.agent.id,
              sample,
              defined(modelCuts(model)[0], `${model}'s input cut`).shape,
            ),
          });
          const diff = maxAbsDiff(defined(output, `the output of sample ${sample}`), expected);
          expect(diff, `${model} ${label} cut ${task.cut} sample ${sample}`).toBeLessThanOrEqual(
            1e-4,
          );
        }
      }
    };
    // At the cut the scheduler chose.
    await check('scheduler');

    // At cuts 0 and L-1, set by hand with the scheduler gone.
    await system.scheduler.kill();
    const client = await connectMqtt({
      url: system.mqttUrl,
      clientId: `pin-${randomBytes(3).toString('hex')}`,
    });
    try {
      for (const pick of ['first', 'before-last'] as const) {
        for (const ue of fleet) {
          const cuts = modelCuts(ue.agent.profile.model);
          const cut = pick === 'first' ? 0 : cuts.length - 2;
          const decision: Decision = {
            epoch: 1000 + (pick === 'first' ? 1 : 2),
            cut,
            cutName: defined(cuts[cut], `${ue.agent.profile.model}'s cut ${cut}`).name,
            units: 1,
            predictedMs: 1,
            solver: 'optimal',
          };
          await client.publishAsync(
            ueTopic(system.topicPrefix, ue.agent.id, 'decision'),
            encodeMessage(decision),
            { qos: 1, retain: true },
          );
        }
        await waitUntil('the pinned decisions', () =>
          fleet.every((ue) => ue.agent.decision?.epoch === 1000 + (pick === 'first' ? 1 : 2)),
        );
        await check(pick);
      }
    } finally {
      await client.endAsync(true);
    }
  });
});
