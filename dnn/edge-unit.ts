/** What one edge unit (one concurrency slot) computes: one x86 server core running a tail. */
export interface EdgeUnitClass {
  readonly id: string;
  readonly title: string;
  /** Effective float32 GFLOP/s of one unit for CNN inference (FLOPs = 2 per MAC). */
  readonly gflops: number;
  readonly source: string;
}

export const EDGE_UNIT: EdgeUnitClass = {
  id: 'x86-server-core',
  title: 'One core of an x86 server (AVX2/AVX-512), single-threaded inference',
  gflops: 50,
  source:
    'Estimate: float32 ResNet-50 (~8.2 GFLOP) with ONNX Runtime or oneDNN limited to one thread on ' +
    'a recent Xeon/EPYC core typically takes ~120-200 ms, i.e. ~40-70 GFLOP/s; 50 is used. ' +
    'Approximate effective figure, not a peak (one AVX2 core at 3 GHz peaks near 96 GFLOP/s).',
};
