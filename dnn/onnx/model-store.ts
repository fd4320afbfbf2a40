import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { envValue } from '../../runtime/env.js';
import type { OnnxCut, OnnxModel } from './onnx-model.js';
import { decodeModel, encodeModel, type onnx } from './schema.js';

/** Environment variable naming the folder where built and imported models are kept. */
export const MODEL_DIR_ENV = 'EDGESPLIT_MODEL_DIR';

export const MODEL_FILE = 'model.onnx';
export const WEIGHTS_FILE = 'weights.bin';
/** Written last: a stored model is complete when it has its cut list. */
export const CUTS_FILE = 'cuts.json';

/**
 * Where models are kept: `$EDGESPLIT_MODEL_DIR`, else `$XDG_CACHE_HOME/edgesplit/models`, else
 * `~/.cache/edgesplit/models`. Everything in it can be rebuilt; deleting it is always safe.
 */
export function modelStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = envValue(MODEL_DIR_ENV, env);
  if (explicit !== undefined) return explicit;
  const cache = envValue('XDG_CACHE_HOME', env) ?? join(homedir(), '.cache');
  return join(cache, 'edgesplit', 'models');
}

const cutsFileSchema = z.object({
  model: z.string(),
  cuts: z
    .array(
      z.object({
        name: z.string(),
        tensor: z.string(),
        shape: z.array(z.number().int().nonnegative()),
        bytes: z.number().int().nonnegative(),
      }),
    )
    .min(2),
});

/** Writes the graph and the cut list of a model whose weights are already in `dir`. */
export async function writeStoredModel(
  dir: string,
  name: string,
  proto: onnx.IModelProto,
  cuts: readonly OnnxCut[],
): Promise<void> {
  await writeFile(join(dir, MODEL_FILE), encodeModel(proto));
  await writeFile(join(dir, CUTS_FILE), `${JSON.stringify({ model: name, cuts }, null, 1)}\n`);
}

export async function readStoredModel(dir: string): Promise<OnnxModel> {
  const { model, cuts } = cutsFileSchema.parse(
    JSON.parse(await readFile(join(dir, CUTS_FILE), 'utf8')),
  );
  const proto = decodeModel(await readFile(join(dir, MODEL_FILE)));
  return { name: model, dir, proto, cuts };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The folder `root/key`, made once by `build` (which writes every file into the private folder
 * it is given, cut list last) and then renamed into place, so that concurrent builders and
 * readers never see a half-written model. Returns the folder.
 */
export async function ensureStored(
  root: string,
  key: string,
  build: (dir: string) => Promise<void>,
): Promise<string> {
  const dir = join(root, key);
  if (await exists(join(dir, CUTS_FILE))) return dir;
  await mkdir(root, { recursive: true });
  const tmp = join(root, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    await build(tmp);
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    // Another process finished the same model first: theirs is as good as ours.
    if (await exists(join(dir, CUTS_FILE))) return dir;
    throw error;
  }
  return dir;
}
