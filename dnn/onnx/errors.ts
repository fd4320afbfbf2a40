import { EdgesplitError, type ErrorOptions } from '../../proto/index.js';
import type { ImportLimitName } from './import-limits.js';

/** What is wrong with a file given to `importModel`. */
export type OnnxImportProblem =
  | 'unreadable'
  | 'not-onnx'
  | 'inputs'
  | 'non-float-input'
  | 'dynamic-dim'
  | 'outputs'
  | 'graph'
  | 'too-large'
  | 'runtime';

/** A file that cannot be imported as a splittable model; the message names the file. */
export class OnnxImportError extends EdgesplitError<'MODEL_IMPORT'> {
  readonly file: string;
  readonly problem: OnnxImportProblem;
  /** For `too-large`: the limit (of `ImportLimits`) the file exceeds. */
  readonly limit: ImportLimitName | undefined;
  constructor(
    file: string,
    problem: OnnxImportProblem,
    reason: string,
    options?: ErrorOptions & { readonly limit?: ImportLimitName },
  ) {
    super('MODEL_IMPORT', `${file}: ${reason}`, options);
    this.name = 'OnnxImportError';
    this.file = file;
    this.problem = problem;
    this.limit = options?.limit;
  }
}
