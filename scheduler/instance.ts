import { ValidationError } from '../proto/errors.js';
import { issuesOf, type Validated } from '../proto/validate.js';
import { type Instance, instanceSchema } from './instance-schema.js';

export type { Instance, InstanceInput, UeSpec } from './instance-schema.js';

/**
 * Validates an instance (docs/model.md's file format). Every issue names the UE (index and id),
 * the cut (index and name) and the field, e.g.
 * `ues[0].cuts[2].deviceMs: must not decrease along cuts: ... (UE "cam-01")`.
 */
export function parseInstance(input: unknown): Validated<Instance> {
  const result = instanceSchema.safeParse(input);
  if (result.success) return { ok: true, value: result.data };
  const lines = issuesOf('', result.error).map((line, k) => {
    const issue = result.error.issues[k];
    const ueIndex = issue?.path[0] === 'ues' ? issue.path[1] : undefined;
    if (typeof ueIndex !== 'number' || !isRecord(input)) return line;
    const ues = input.ues;
    const ue = Array.isArray(ues) ? ues[ueIndex] : undefined;
    const id = isRecord(ue) && typeof ue.id === 'string' ? ue.id.slice(0, 64) : undefined;
    return id === undefined ? line : `${line} (UE ${JSON.stringify(id)})`;
  });
  return { ok: false, error: new ValidationError('INVALID_INSTANCE', lines) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
