import { defined } from '../../runtime/defined.js';
import type { onnx } from './schema.js';

/** Names a subgraph (If, Loop, Scan bodies) reads from the enclosing scope. */
function outerReferences(graph: onnx.IGraphProto): string[] {
  const local = new Set<string>();
  for (const input of graph.input ?? []) if (input.name) local.add(input.name);
  for (const init of graph.initializer ?? []) if (init.name) local.add(init.name);
  const outer: string[] = [];
  for (const node of graph.node ?? []) {
    for (const name of nodeInputs(node)) if (!local.has(name)) outer.push(name);
    for (const name of node.output ?? []) if (name) local.add(name);
  }
  return outer;
}

/** Every tensor a node reads: its inputs (omitted optional ones skipped) and its subgraphs'. */
export function nodeInputs(node: onnx.INodeProto): string[] {
  const names = (node.input ?? []).filter((name) => name !== '');
  for (const attribute of node.attribute ?? []) {
    const graphs = [...(attribute.g ? [attribute.g] : []), ...(attribute.graphs ?? [])];
    for (const graph of graphs) names.push(...outerReferences(graph));
  }
  return names;
}

export const nodeOutputs = (node: onnx.INodeProto): string[] =>
  (node.output ?? []).filter((name) => name !== '');

/** Tensors that exist before any node runs: initializers and sparse initializers. */
export function initializerNames(graph: onnx.IGraphProto): Set<string> {
  const names = new Set<string>();
  for (const init of graph.initializer ?? []) if (init.name) names.add(init.name);
  for (const sparse of graph.sparseInitializer ?? [])
    if (sparse.values?.name) names.add(sparse.values.name);
  return names;
}

/**
 * The graph's nodes in a topological order, keeping the file's order where it is one already.
 * Returns a message instead when a node reads a tensor nothing produces or nodes form a cycle.
 */
export function topologicalOrder(graph: onnx.IGraphProto): onnx.INodeProto[] | string {
  const nodes = graph.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((node, index) => {
    for (const name of nodeOutputs(node)) producer.set(name, index);
  });
  const available = initializerNames(graph);
  for (const input of graph.input ?? []) if (input.name) available.add(input.name);
  const state = new Uint8Array(nodes.length); // 0 new, 1 on the stack, 2 placed
  const order: onnx.INodeProto[] = [];
  for (let root = 0; root < nodes.length; root++) {
    const stack: [number, number][] = [[root, 0]];
    for (let top = stack.at(-1); top !== undefined; top = stack.at(-1)) {
      const [index, next] = top;
      if (state[index] === 2) {
        stack.pop();
        continue;
      }
      state[index] = 1;
      const node = defined(nodes[index], `node ${index} of ${nodes.length}`);
      const name = nodeInputs(node)[next];
      if (name !== undefined) {
        top[1] = next + 1;
        if (available.has(name)) continue;
        const from = producer.get(name);
        if (from === undefined)
          return `node "${node.name || index}" reads "${name}", which nothing produces`;
        if (state[from] === 1) return `the graph has a cycle through "${name}"`;
        if (state[from] === 0) stack.push([from, 0]);
        continue;
      }
      state[index] = 2;
      order.push(node);
      stack.pop();
    }
  }
  return order;
}

/** A place in the node order where exactly one activation tensor is alive. */
export interface CutCandidate {
  readonly tensor: string;
  /** The node producing it, or undefined for the graph input. */
  readonly producer: onnx.INodeProto | undefined;
}

/**
 * Walks `order` (topological) and returns, at each position where exactly one activation is
 * alive, that tensor (once, at its first such position). Activations are the graph inputs and
 * whatever is computed from them; initializers and what is computed from them alone do not
 * count, since every segment that needs them gets its own copy.
 */
export function findCutCandidates(
  graph: onnx.IGraphProto,
  order: readonly onnx.INodeProto[],
): CutCandidate[] {
  const constant = initializerNames(graph);
  const inputs = (graph.input ?? []).map((v) => v.name ?? '').filter((n) => n && !constant.has(n));
  const activation = new Set(inputs);
  const lastUse = new Map<string, number>();
  const producerOf = new Map<string, onnx.INodeProto>();
  order.forEach((node, index) => {
    const reads = nodeInputs(node).filter((name) => activation.has(name));
    for (const name of reads) lastUse.set(name, index);
    if (reads.length === 0) return;
    for (const name of nodeOutputs(node)) {
      activation.add(name);
      producerOf.set(name, node);
    }
  });
  for (const output of graph.output ?? []) if (output.name) lastUse.set(output.name, order.length);

  const found: CutCandidate[] = [];
  const seen = new Set<string>();
  const live = new Set(inputs.filter((name) => lastUse.has(name)));
  const record = () => {
    if (live.size !== 1) return;
    const [tensor] = [...live];
    if (tensor === undefined || seen.has(tensor)) return;
    seen.add(tensor);
    found.push({ tensor, producer: producerOf.get(tensor) });
  };
  record();
  order.forEach((node, index) => {
    for (const name of nodeInputs(node)) if (lastUse.get(name) === index) live.delete(name);
    for (const name of nodeOutputs(node))
      if (producerOf.get(name) === node && lastUse.has(name)) live.add(name);
    record();
  });
  return found;
}
