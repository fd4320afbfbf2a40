import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { measureProfile, modelCuts, OnnxExecutor, readProfileFile } from '../dnn/index.js';
import type { Tensor } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { runCli } from './cli-run.js';
import { messageText } from './log-lines.js';

const dir = mkdtempSync(join(tmpdir(), 'edgesplit-profile-'));
const executor = new OnnxExecutor();
afterAll(async () => {
  await executor.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('measured profiles (ONNX Runtime)', () => {
  for (const model of ['tiny-cnn', 'squeezenet1.1']) {
    it(`${model}: deviceMs non-decreasing, edgeMs non-increasing, bytes = real tensor sizes`, async () => {
      const profile = await measureProfile(model, { runs: 2, executor });
      const cuts = profile.cuts;
      expect(cuts.map((cut) => cut.name)).toEqual(modelCuts(model).map((cut) => cut.name));
      expect(cuts[0]?.deviceMs).toBe(0);
      expect(cuts.at(-1)?.edgeMs).toBe(0);
      for (const [i, cut] of cuts.entries()) {
        const before = cuts[i - 1];
        if (before === undefined) continue;
        expect(cut.deviceMs).toBeGreaterThanOrEqual(before.deviceMs);
        expect(cut.edgeMs).toBeLessThanOrEqual(before.edgeMs);
      }
      expect(cuts.at(-1)?.deviceMs).toBeGreaterThan(0);
      expect(cuts[0]?.edgeMs).toBeGreaterThan(0);
      // The bytes are those of the tensors the model really produces at each cut.
      const shape = defined(modelCuts(model)[0], `the input cut of ${model}`).shape;
      let tensor: Tensor = {
        dtype: 'float32' as const,
        shape: [...shape],
        data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(0.5),
      };
      expect(tensor.data.byteLength).toBe(cuts[0]?.bytes);
      for (let cut = 1; cut < cuts.length; cut++) {
        tensor = await executor.run({ model, from: cut - 1, to: cut, input: tensor });
        expect(tensor.data.byteLength, `${model} cut ${cut}`).toBe(cuts[cut]?.bytes);
      }
    }, 600_000);
  }

  it('edgesplit profile writes the file; agents refuse one of another model or with other cuts', async () => {
    const out = join(dir, 'tiny.json');
    const run = runCli([
      'profile',
      '--model',
      'tiny-cnn',
      '--runs',
      '2',
      '--slowdown',
      '3',
      '--out',
      out,
    ]);
    expect(run.code, run.stderr).toBe(0);
    const profile = await readProfileFile(out);
    expect(profile.slowdown).toBe(3);
    expect(profile.cuts.length).toBe(modelCuts('tiny-cnn').length);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...profile, cuts: profile.cuts.slice(1) }));
    const refused = runCli([
      'agent',
      '--id',
      'ue-1',
      '--model',
      'tiny-cnn',
      '--uplink-mbps',
      '10',
      '--profile',
      bad,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not those of the zoo/);
    const wrongModel = runCli([
      'agent',
      '--id',
      'ue-1',
      '--model',
      'resnet18',
      '--uplink-mbps',
      '10',
      '--profile',
      out,
    ]);
    expect(wrongModel.code).toBe(2);
    expect(messageText(wrongModel.stderr)).toMatch(/profiles "tiny-cnn", not "resnet18"/);
    expect(runCli(['profile', '--model', 'lenet']).code).toBe(2);
  }, 600_000);
});
