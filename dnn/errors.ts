/** A model table whose layers do not fit together (a bug in the table, not in user input). */
export class ModelShapeError extends Error {
  readonly model: string;
  readonly block: string;
  constructor(model: string, block: string, reason: string) {
    super(`model "${model}", block "${block}": ${reason}`);
    this.name = 'ModelShapeError';
    this.model = model;
    this.block = block;
  }
}

/** A model id that is not in the zoo. */
export class UnknownModelError extends Error {
  readonly model: string;
  constructor(model: string, known: readonly string[]) {
    super(`unknown model ${JSON.stringify(model.slice(0, 64))} (known: ${known.join(', ')})`);
    this.name = 'UnknownModelError';
    this.model = model;
  }
}

/** Options of the fleet generator that are out of range; `option` names the bad one. */
export class FleetOptionsError extends Error {
  readonly option: string;
  constructor(option: string, reason: string, options?: { cause?: unknown }) {
    super(`${option}: ${reason}`, options);
    this.name = 'FleetOptionsError';
    this.option = option;
  }
}
