import { UnknownModelError } from './errors.js';
import type { ModelSpec } from './model-spec.js';
import { alexnet } from './models/alexnet.js';
import { mobilenetV2 } from './models/mobilenet-v2.js';
import { resnet18 } from './models/resnet18.js';
import { squeezenet11 } from './models/squeezenet.js';
import { tinyCnn } from './models/tiny-cnn.js';
import { vgg16 } from './models/vgg16.js';
import { type CutProfile, type ModelProfile, profileModel } from './profile.js';

const MODELS: readonly ModelSpec[] = [alexnet, vgg16, resnet18, mobilenetV2, squeezenet11, tinyCnn];
const BY_NAME = new Map(MODELS.map((spec) => [spec.name, spec]));
const PROFILES = new Map<string, ModelProfile>();

/** The real ImageNet models (1x3x224x224 input): what fleets use unless told otherwise. */
export const REAL_MODELS: readonly string[] = [
  alexnet.name,
  vgg16.name,
  resnet18.name,
  mobilenetV2.name,
  squeezenet11.name,
];

/** Ids of every model in the zoo, real ones first. */
export function listModels(): string[] {
  return MODELS.map((spec) => spec.name);
}

export function hasModel(name: string): boolean {
  return BY_NAME.has(name);
}

/** The architecture table of `name`; throws {@link UnknownModelError}. */
export function getModel(name: string): ModelSpec {
  const spec = BY_NAME.get(name);
  if (spec === undefined) throw new UnknownModelError(name, listModels());
  return spec;
}

/** Shapes, FLOPs and parameters of `name`, computed once and cached. */
export function getModelProfile(name: string): ModelProfile {
  let profile = PROFILES.get(name);
  if (profile === undefined) {
    profile = profileModel(getModel(name));
    PROFILES.set(name, profile);
  }
  return profile;
}

/** The partition points of `name`: `input`, one after each block but the last, `output`. */
export function modelCuts(name: string): readonly CutProfile[] {
  return getModelProfile(name).cuts;
}

export interface ModelTotals {
  readonly flops: number;
  readonly macs: number;
  readonly params: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
  readonly cuts: number;
}

export function modelTotals(name: string): ModelTotals {
  const p = getModelProfile(name);
  return {
    flops: p.totalFlops,
    macs: p.totalMacs,
    params: p.paramCount,
    inputBytes: p.inputBytes,
    outputBytes: p.outputBytes,
    cuts: p.cuts.length,
  };
}
