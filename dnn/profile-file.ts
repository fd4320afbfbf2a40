import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { EdgesplitError, type ErrorOptions } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';

const finiteMs = z.number().finite().nonnegative();

/** A measured profile as `edgesplit profile` writes it and agents and edge workers load it. */
export const measuredProfileSchema = z.object({
  model: z.string().min(1).max(64),
  /** Timed runs per segment (after one warm-up run). */
  runs: z.number().int().positive(),
  /** Intra-op threads of each session while measuring. */
  threads: z.number().int().positive(),
  /** Device times are the measured head times multiplied by this (a weaker device). */
  slowdown: z.number().finite().positive(),
  measuredAt: z.string(),
  cuts: z
    .array(
      z.object({
        name: z.string().min(1).max(256),
        bytes: z.number().int().nonnegative(),
        /** Head 0..cut for one sample on the device, ms (slowdown applied). */
        deviceMs: finiteMs,
        /** Tail cut..L for one sample on one edge unit, ms. */
        edgeMs: finiteMs,
      }),
    )
    .min(2)
    .max(10_000),
});

export type MeasuredProfile = z.output<typeof measuredProfileSchema>;

/** A profile file that cannot be read or used; the message names the file and the field. */
export class ProfileFileError extends EdgesplitError<'INVALID_PROFILE'> {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_PROFILE', message, options);
    this.name = 'ProfileFileError';
  }
}

/** Reads and validates a profile file; errors name the file and the field. */
export async function readProfileFile(path: string): Promise<MeasuredProfile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ProfileFileError(`cannot read ${path}: ${asError(error).message}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ProfileFileError(`${path}: not JSON: ${asError(error).message}`, { cause: error });
  }
  const parsed = measuredProfileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined ? '' : `${issue.path.join('.') || '(root)'}: `;
    throw new ProfileFileError(`${path}: ${where}${issue?.message ?? 'invalid profile'}`);
  }
  return parsed.data;
}

export async function writeProfileFile(path: string, profile: MeasuredProfile): Promise<void> {
  await writeFile(path, `${JSON.stringify(profile, null, 2)}\n`);
}
