import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { asError } from '../../runtime/as-error.js';
import { defined } from '../../runtime/defined.js';
import { elementCount } from '../layer-cost.js';
import { BYTES_PER_ELEMENT } from '../profile.js';
import { OnnxImportError } from './errors.js';
import { externalFile, modelFolder, openExternal } from './external-data.js';
import { findCutCandidates, topologicalOrder } from './graph-analysis.js';
import {
  checkInput,
  checkOutput,
  cutNames,
  type ImportedInput,
  parseModel,
} from './import-checks.js';
import {
  checkDeclaredTensors,
  checkInitializers,
  DEFAULT_IMPORT_LIMITS,
  type ImportLimits,
  refuseTooLarge,
} from './import-limits.js';
import {
  ensureStored,
  modelStoreRoot,
  readStoredModel,
  WEIGHTS_FILE,
  writeStoredModel,
} from './model-store.js';
import type { OnnxCut, OnnxModel } from './onnx-model.js';
import { EXTERNAL, encodeModel, type onnx } from './schema.js';
import { extractSubmodel } from './segment.js';
import { loadRuntime, runtimeOptions } from './segment-session.js';
import { WeightFile } from './weight-file.js';
import { WeightGenerator } from './weights.js';

export interface ImportOptions {
  /** Folder of the model store. @defaultValue {@link modelStoreRoot}() */
  readonly root?: string;
  /** Sizes refused before anything is allocated. @defaultValue {@link DEFAULT_IMPORT_LIMITS} */
  readonly limits?: Partial<ImportLimits>;
}

/** Moves every large initializer (inline or in the source's external files) into `dir`. */
function externalize(
  file: string,
  folder: string,
  graph: onnx.IGraphProto,
  dir: string,
): onnx.ITensorProto[] {
  const fd = openSync(join(dir, WEIGHTS_FILE), 'w');
  try {
    const weights = new WeightFile(fd, WEIGHTS_FILE);
    return (graph.initializer ?? []).map((tensor) => {
      if (tensor.dataLocation === EXTERNAL) {
        const { externalData: _where, dataLocation: _how, ...rest } = tensor;
        const source = openExternal(file, folder, tensor);
        try {
          return weights.addFromFile(rest, source.fd, source.offset, source.length);
        } catch (error) {
          const reason = asError(error).message;
          throw new OnnxImportError(
            file,
            'unreadable',
            `cannot read the external data of "${tensor.name}" (${reason})`,
            { cause: error },
          );
        } finally {
          closeSync(source.fd);
        }
      }
      if (tensor.rawData && tensor.rawData.length > 0)
        return weights.addBytes(tensor, tensor.rawData);
      return tensor;
    });
  } finally {
    closeSync(fd);
  }
}

/** Store key: the file's name and a digest of its bytes and of its external files' identity. */
async function importKey(file: string, folder: string, bytes: Uint8Array, graph: onnx.IGraphProto) {
  const hash = createHash('sha256').update(bytes);
  for (const tensor of graph.initializer ?? []) {
    if (tensor.dataLocation !== EXTERNAL) continue;
    const path = externalFile(file, folder, tensor);
    const info = await stat(path).catch((error: unknown) => {
      const reason = asError(error).message;
      throw new OnnxImportError(file, 'unreadable', `cannot read external data (${reason})`);
    });
    hash.update(`${path}:${info.size}:${info.mtimeMs}`);
  }
  const name = modelName(file);
  return { name, key: `import-${name}-${hash.digest('hex').slice(0, 16)}` };
}

/** The file's base name as a model id: `[A-Za-z0-9._-]`, at most 64 characters. */
export function modelName(file: string): string {
  const base = basename(file).replace(/\.onnx$/i, '');
  return base.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64) || 'model';
}

/**
 * Runs the model once on a seeded input with every candidate tensor as an output: this gives
 * each one's element type and shape, and keeps the float32 ones as cuts.
 */
async function probeCuts(
  file: string,
  dir: string,
  proto: onnx.IModelProto,
  input: ImportedInput,
  candidates: readonly { tensor: string; producer: onnx.INodeProto | undefined }[],
): Promise<OnnxCut[]> {
  const outputs = candidates.slice(1).map(({ tensor }) => ({ tensor }));
  const probe = extractSubmodel(proto, input, outputs);
  const ort = await loadRuntime();
  const data = new WeightGenerator(0).uniform('probe', elementCount(input.shape), 1);
  let results: InferenceSession.ReturnType;
  try {
    const session = await ort.InferenceSession.create(encodeModel(probe), runtimeOptions(dir));
    try {
      results = await session.run({
        [input.tensor]: new ort.Tensor('float32', data, [...input.shape]),
      });
    } finally {
      await session.release();
    }
  } catch (error) {
    const reason = asError(error).message;
    throw new OnnxImportError(file, 'runtime', `ONNX Runtime cannot run it: ${reason}`, {
      cause: error,
    });
  }
  const kept = candidates.filter(
    ({ tensor }, index) => index === 0 || results[tensor]?.type === 'float32',
  );
  const last = defined(candidates.at(-1), 'the last cut candidate');
  if (kept[kept.length - 1] !== last)
    throw new OnnxImportError(
      file,
      'outputs',
      `output "${last.tensor}" is ${results[last.tensor]?.type ?? 'missing'}; only float32 outputs can be split`,
    );
  const names = cutNames(kept.map(({ producer }) => producer));
  return kept.map(({ tensor }, index) => {
    const shape =
      index === 0
        ? input.shape
        : [...defined(results[tensor], `the probe's float32 output "${tensor}"`).dims];
    const name = defined(names[index], `the name of cut ${index}`);
    return { name, tensor, shape, bytes: elementCount(shape) * BYTES_PER_ELEMENT };
  });
}

/**
 * Reads an ONNX file and makes it splittable like a zoo model: finds its cuts (places in the
 * node order where exactly one activation tensor is alive), names each after the node that
 * produces its tensor, measures their shapes with one run, and keeps the graph, its weights
 * and the cut list in the model store (keyed by the file's contents). Throws
 * {@link OnnxImportError} for a file that is not ONNX or cannot be split.
 */
export async function importModel(file: string, options: ImportOptions = {}): Promise<OnnxModel> {
  const limits = { ...DEFAULT_IMPORT_LIMITS, ...options.limits };
  let bytes: Uint8Array;
  try {
    const { size } = await stat(file);
    if (size > limits.modelBytes) refuseTooLarge(file, 'the file is', size, 'modelBytes', limits);
    bytes = await readFile(file);
  } catch (error) {
    if (error instanceof OnnxImportError) throw error;
    const reason = asError(error).message;
    throw new OnnxImportError(file, 'unreadable', `cannot read it (${reason})`, { cause: error });
  }
  const proto = parseModel(file, bytes);
  const graph = proto.graph;
  if (!graph) throw new OnnxImportError(file, 'not-onnx', 'not an ONNX model (no graph)');
  const input = checkInput(file, graph);
  const output = checkOutput(file, graph);
  checkDeclaredTensors(file, graph, limits);
  checkInitializers(file, graph, bytes.length, limits);
  const folder = modelFolder(file);
  const order = topologicalOrder(graph);
  if (typeof order === 'string') throw new OnnxImportError(file, 'graph', order);
  const candidates = findCutCandidates(graph, order);
  if (candidates[0]?.tensor !== input.tensor || candidates.length < 2)
    throw new OnnxImportError(
      file,
      'graph',
      `the output does not depend on input "${input.tensor}"`,
    );
  if (candidates.at(-1)?.tensor !== output)
    throw new OnnxImportError(file, 'outputs', `output "${output}" is not computed from the input`);

  const { name, key } = await importKey(file, folder, bytes, graph);
  const dir = await ensureStored(options.root ?? modelStoreRoot(), key, async (tmp) => {
    const stored: onnx.IModelProto = {
      ...proto,
      graph: { ...graph, node: order, initializer: externalize(file, folder, graph, tmp) },
    };
    const cuts = await probeCuts(file, tmp, stored, input, candidates);
    for (const cut of cuts)
      if (cut.bytes > limits.tensorBytes)
        refuseTooLarge(
          file,
          `cut "${cut.name}" (tensor "${cut.tensor}" [${cut.shape.join(', ')}]) holds`,
          cut.bytes,
          'tensorBytes',
          limits,
        );
    await writeStoredModel(tmp, name, stored, cuts);
  });
  return readStoredModel(dir);
}
