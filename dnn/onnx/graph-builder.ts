import type { Shape } from '../layer-cost.js';
import { floatTensor, onnx } from './schema.js';
import type { WeightSink } from './weight-file.js';
import type { WeightGenerator } from './weights.js';

/** A tensor flowing through the graph being built, with its static shape. */
export interface Value {
  readonly name: string;
  readonly shape: Shape;
}

export type AttributeValue = number | readonly number[];

const { AttributeType } = onnx.AttributeProto;

/** Ints are written as INT(S); a float attribute is marked by {@link floatAttribute}. */
function attribute(name: string, value: AttributeValue | FloatAttribute): onnx.IAttributeProto {
  if (value instanceof FloatAttribute) return { name, type: AttributeType.FLOAT, f: value.value };
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  return { name, type: AttributeType.INTS, ints: [...value] };
}

export class FloatAttribute {
  constructor(readonly value: number) {}
}

export const floatAttribute = (value: number): FloatAttribute => new FloatAttribute(value);

/**
 * Collects the nodes (in topological order, as they are added) and initializers of one graph.
 * Tensor and node names are unique; weights come from one seeded generator and go to a sink.
 */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly tensorNames = new Set<string>();
  private readonly constants = new Map<string, string>();

  constructor(
    private readonly weights: WeightGenerator,
    private readonly sink: WeightSink,
  ) {}

  /** Reserves a tensor name (the graph input, for one). */
  reserve(name: string): string {
    if (this.tensorNames.has(name)) throw new Error(`tensor name "${name}" is used twice`);
    this.tensorNames.add(name);
    return name;
  }

  /** Seeded initializer: `count` values uniform in [center − spread, center + spread). */
  weight(name: string, dims: readonly number[], spread: number, center = 0): string {
    const stream = this.weights.stream(name, spread, center);
    this.initializers.push(
      this.sink.addFloat(this.reserve(name), dims, (chunk) => stream.fill(chunk)),
    );
    return name;
  }

  /** A float scalar shared by every node that asks for the same value. */
  scalar(value: number): string {
    const key = String(value);
    let name = this.constants.get(key);
    if (name === undefined) {
      name = this.reserve(`const/${key}`);
      this.initializers.push(floatTensor(name, [], Float32Array.of(value)));
      this.constants.set(key, name);
    }
    return name;
  }

  /** Appends a node with a single output, named `output` (by default the node's name). */
  node(
    opType: string,
    name: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue | FloatAttribute>> = {},
    output = name,
  ): string {
    this.reserve(output);
    this.nodes.push({
      name,
      opType,
      input: [...inputs],
      output: [output],
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return output;
  }

  /**
   * Gives the tensor `from` the name `to` and its producer the name `nodeName`: renames the
   * newest node when it produced `from` (so nothing consumes it yet), else adds an `Identity`.
   */
  rename(from: string, to: string, nodeName: string): void {
    const last = this.nodes[this.nodes.length - 1];
    if (last?.output?.length === 1 && last.output[0] === from) {
      this.tensorNames.delete(from);
      last.output = [this.reserve(to)];
      last.name = nodeName;
      return;
    }
    this.node('Identity', nodeName, [from], {}, to);
  }
}
