/** Loading `edgesplit profile` files for the commands that run models. */
import {
  type DeviceCut,
  type MeasuredProfile,
  modelCuts,
  ProfileFileError,
  readProfileFile,
} from '../dnn/index.js';

/** Reads a profile and checks it matches the zoo model's cuts (names and bytes). */
export async function loadProfile(path: string, model?: string): Promise<MeasuredProfile> {
  const profile = await readProfileFile(path);
  if (model !== undefined && profile.model !== model)
    throw new ProfileFileError(`${path} profiles "${profile.model}", not "${model}"`);
  let cuts: ReturnType<typeof modelCuts>;
  try {
    cuts = modelCuts(profile.model);
  } catch {
    throw new ProfileFileError(`${path}: unknown model "${profile.model}"`);
  }
  const same =
    cuts.length === profile.cuts.length &&
    cuts.every(
      (cut, i) => cut.name === profile.cuts[i]?.name && cut.bytes === profile.cuts[i]?.bytes,
    );
  if (!same)
    throw new ProfileFileError(`${path}: its cuts are not those of the zoo's "${profile.model}"`);
  return profile;
}

/** The device side of a profile, as an agent takes it. */
export function deviceCutsOf(profile: MeasuredProfile): DeviceCut[] {
  return profile.cuts.map(({ name, deviceMs, bytes }) => ({ name, deviceMs, bytes }));
}

/** edgeMs per model from several profiles, as an edge worker declares them. */
export async function loadEdgeProfiles(
  paths: readonly string[],
): Promise<Record<string, number[]>> {
  const byModel: Record<string, number[]> = {};
  for (const path of paths) {
    const profile = await loadProfile(path);
    byModel[profile.model] = profile.cuts.map((cut) => cut.edgeMs);
  }
  return byModel;
}

/** A head's duration on the device a profile stands for: deviceMs[to] − deviceMs[from]. */
export function headTimeOf(
  cuts: readonly { readonly deviceMs: number }[],
): (model: string, from: number, to: number) => number {
  return (_model, from, to) => (cuts[to]?.deviceMs ?? 0) - (cuts[from]?.deviceMs ?? 0);
}
