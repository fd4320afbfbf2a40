/**
 * A binary max-heap of item indices keyed by an external Float64Array; equal keys pop the
 * smaller index first so that solvers are deterministic. Keys change only through `updateTop`.
 */
export class MaxHeap {
  private readonly items: Int32Array;
  private size = 0;

  constructor(
    private readonly keys: Float64Array,
    capacity: number,
  ) {
    this.items = new Int32Array(capacity);
  }

  get length(): number {
    return this.size;
  }

  /** Builds the heap from all indices 0..count-1 in O(count). */
  fill(count: number): void {
    for (let i = 0; i < count; i++) this.items[i] = i;
    this.size = count;
    for (let i = (count >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  top(): number {
    if (this.size === 0) throw new RangeError('heap is empty');
    // biome-ignore lint/style/noNonNullAssertion: at every step of the fill; size > 0 was just checked
    return this.items[0]!;
  }

  pop(): number {
    const top = this.top();
    this.size--;
    if (this.size > 0) {
      // biome-ignore lint/style/noNonNullAssertion: at every step of the fill; size < capacity
      this.items[0] = this.items[this.size]!;
      this.siftDown(0);
    }
    return top;
  }

  /** Call after lowering the key of the top item. */
  updateTop(): void {
    this.siftDown(0);
  }

  private above(a: number, b: number): boolean {
    // biome-ignore-start lint/style/noNonNullAssertion: the heap's comparison; items are indices < capacity <= keys.length
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
    return ka > kb || (ka === kb && a < b);
  }

  private siftDown(start: number): void {
    const items = this.items;
    let i = start;
    // biome-ignore-start lint/style/noNonNullAssertion: the heap's sift, at every step of the fill; i, left, right and child are all < size
    const item = items[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= this.size) break;
      const right = left + 1;
      const child = right < this.size && this.above(items[right]!, items[left]!) ? right : left;
      if (!this.above(items[child]!, item)) break;
      items[i] = items[child]!;
      i = child;
    }
    // biome-ignore-end lint/style/noNonNullAssertion: end of the bounded reads
    items[i] = item;
  }
}
