import { EdgesplitError, type ErrorOptions, OptionError } from '../proto/index.js';

/** A model table whose layers do not fit together (a bug in the table, not in user input). */
export class ModelShapeError extends EdgesplitError<'MODEL_SHAPE'> {
  readonly model: string;
  readonly block: string;
  constructor(model: string, block: string, reason: string, options?: ErrorOptions) {
    super('MODEL_SHAPE', `model "${model}", block "${block}": ${reason}`, options);
    this.name = 'ModelShapeError';
    this.model = model;
    this.block = block;
  }
}

/** A model id that is not in the zoo. */
export class UnknownModelError extends EdgesplitError<'UNKNOWN_MODEL'> {
  readonly model: string;
  constructor(model: string, known: readonly string[], options?: ErrorOptions) {
    super(
      'UNKNOWN_MODEL',
      `unknown model ${JSON.stringify(model.slice(0, 64))} (known: ${known.join(', ')})`,
      options,
    );
    this.name = 'UnknownModelError';
    this.model = model;
  }
}

/** Options of the fleet generator that are out of range; `option` names the bad one. */
export class FleetOptionsError extends OptionError {
  override readonly option: string;
  constructor(option: string, reason: string, options?: ErrorOptions) {
    super(`${option}: ${reason}`, { ...options, option });
    this.name = 'FleetOptionsError';
    this.option = option;
  }
}
