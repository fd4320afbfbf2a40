/** A class of UE hardware, with the speed at which it runs DNN layers in practice. */
export interface DeviceClass {
  readonly id: string;
  readonly title: string;
  /** Effective float32 GFLOP/s for CNN inference (FLOPs = 2 per multiply-accumulate). */
  readonly gflops: number;
  /** Where the figure comes from; every figure is an approximate effective rate, not a peak. */
  readonly source: string;
}

/**
 * FLOP counts below are this zoo's convention (2 per MAC): MobileNet v1 1.0/224 ≈ 1.14 GFLOP,
 * ResNet-50 ≈ 8.2 GFLOP. Each rate divides such a model's cost by a typical published latency.
 */
export const DEVICE_CLASSES: readonly DeviceClass[] = [
  {
    id: 'rpi4-cpu',
    title: 'Raspberry Pi 4 Model B, 4x Cortex-A72 CPU',
    gflops: 10,
    source:
      'Estimate, not a measurement of ours: float32 TensorFlow Lite MobileNet v1 1.0/224 ' +
      '(~1.14 GFLOP) is commonly reported at ~80-100 ms on the 4 cores, i.e. ~11-14 GFLOP/s; ' +
      'rounded down to 10 because depthwise and memory-bound layers run slower. ' +
      'Approximate effective figure, far below the NEON peak (~48 GFLOP/s).',
  },
  {
    id: 'rpi3-cpu',
    title: 'Raspberry Pi 3 Model B+, 4x Cortex-A53 CPU',
    gflops: 4,
    source:
      'Estimate: published TensorFlow Lite benchmarks (e.g. Alasdair Allan, 2019) find the Pi 4 ' +
      'roughly 2-3x faster than the Pi 3 B+ on the same MobileNet models; MobileNet v1 1.0/224 ' +
      '(~1.14 GFLOP) at ~250-300 ms gives ~4 GFLOP/s. Approximate effective figure, not a peak.',
  },
  {
    id: 'phone-midrange-cpu',
    title: 'Mid-range Android phone CPU (Cortex-A76/A78-class big cores)',
    gflops: 25,
    source:
      'Estimate: float32 TensorFlow Lite MobileNet v1 1.0/224 (~1.14 GFLOP) on 4 CPU threads of a ' +
      'mid-range SoC (e.g. Snapdragon 7-series) typically takes ~40-50 ms, i.e. ~23-28 GFLOP/s. ' +
      'Approximate effective figure, not a peak; thermal throttling lowers it further.',
  },
  {
    id: 'jetson-nano-gpu',
    title: 'NVIDIA Jetson Nano, 128-core Maxwell GPU',
    gflops: 60,
    source:
      "Estimate: NVIDIA's published Jetson Nano figure for ResNet-50 (~8.2 GFLOP) is ~36 img/s with " +
      'TensorRT FP16 (~300 GFLOP/s); float32 through a general runtime (PyTorch or ONNX Runtime ' +
      'CUDA) is several times slower, ResNet-50 at roughly 120-150 ms, i.e. ~55-70 GFLOP/s. ' +
      'Approximate effective figure, well below the fp32 peak (~236 GFLOP/s).',
  },
  {
    id: 'rpi-zero2-cpu',
    title: 'Raspberry Pi Zero 2 W, 4x Cortex-A53 CPU at 1 GHz',
    gflops: 2,
    source:
      'Estimate: the same four Cortex-A53 cores as the Pi 3 B+ (above, ~4 GFLOP/s) clocked at ' +
      '1 GHz instead of 1.4 GHz, with 512 MB of slower RAM and thermal throttling in a closed ' +
      'camera case; about half the Pi 3 B+. Approximate effective figure, not a measurement of ours.',
  },
  {
    id: 'rpi-zero-cpu',
    title: 'Raspberry Pi Zero W, 1x ARM1176 CPU at 1 GHz',
    gflops: 0.25,
    source:
      'Estimate: one in-order ARMv6 core without NEON (scalar VFPv2, at most ~1 GFLOP/s peak); ' +
      'float32 MobileNet v1 1.0/224 (~1.14 GFLOP) is commonly reported at several seconds per ' +
      'image, i.e. ~0.2-0.3 GFLOP/s. Approximate effective figure, not a peak.',
  },
];

/** The device classes of the original catalog, in the order `fleet generate` draws from. */
export const CATALOG_DEVICE_IDS: readonly string[] = [
  'rpi4-cpu',
  'rpi3-cpu',
  'phone-midrange-cpu',
  'jetson-nano-gpu',
];
