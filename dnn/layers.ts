/**
 * The layer vocabulary of the model zoo. Models are plain data built from these ops, with every
 * hyper-parameter spelled out, so that shape inference here and ONNX graph construction later
 * read the same tables. Tensors are NCHW float32; kernels, strides and pads are square/symmetric.
 */

/** 2-D convolution (ONNX `Conv`). `groups === channels in` makes it depthwise. */
export interface ConvLayer {
  readonly op: 'conv';
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
  readonly groups: number;
  readonly bias: boolean;
}

/** Inference-mode batch normalisation over channels (ONNX `BatchNormalization`). */
export interface BatchNormLayer {
  readonly op: 'batchnorm';
  readonly eps: number;
}

export interface ReluLayer {
  readonly op: 'relu';
}

/** min(max(x, 0), 6), as in MobileNetV2 (ONNX `Clip` with min 0, max 6). */
export interface Relu6Layer {
  readonly op: 'relu6';
}

/** Max pooling; `ceilMode` follows PyTorch (a window may not start in the right padding). */
export interface MaxPoolLayer {
  readonly op: 'maxpool';
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
  readonly ceilMode: boolean;
}

/** PyTorch `AdaptiveAvgPool2d(outSize)`; outSize 1 is a global average pool. */
export interface AdaptiveAvgPoolLayer {
  readonly op: 'adaptive-avgpool';
  readonly outSize: number;
}

/** Local response normalisation across channels (the original AlexNet; torchvision's has none). */
export interface LrnLayer {
  readonly op: 'lrn';
  readonly size: number;
  readonly alpha: number;
  readonly beta: number;
  readonly k: number;
}

/** Identity at inference; kept so that the tables mirror the trained architecture. */
export interface DropoutLayer {
  readonly op: 'dropout';
  readonly p: number;
}

/** [N, C, H, W] → [N, C·H·W]. */
export interface FlattenLayer {
  readonly op: 'flatten';
}

/** Fully connected layer on a flat input (ONNX `Gemm` with transposed weights). */
export interface FcLayer {
  readonly op: 'fc';
  readonly outFeatures: number;
  readonly bias: boolean;
}

/**
 * `body(x) + shortcut(x)`: the element-wise add is part of this op; an activation after the add
 * is a separate layer. An empty shortcut is the identity.
 */
export interface ResidualLayer {
  readonly op: 'residual';
  readonly body: readonly Layer[];
  readonly shortcut: readonly Layer[];
}

/** Runs every branch on the same input and concatenates the results along channels. */
export interface ConcatLayer {
  readonly op: 'concat';
  readonly branches: readonly (readonly Layer[])[];
}

/** Softmax over the last axis of a flat tensor. */
export interface SoftmaxLayer {
  readonly op: 'softmax';
}

export type Layer =
  | ConvLayer
  | BatchNormLayer
  | ReluLayer
  | Relu6Layer
  | MaxPoolLayer
  | AdaptiveAvgPoolLayer
  | LrnLayer
  | DropoutLayer
  | FlattenLayer
  | FcLayer
  | ResidualLayer
  | ConcatLayer
  | SoftmaxLayer;

export type LayerOp = Layer['op'];

/** Options of {@link conv}; omitted fields take PyTorch's `nn.Conv2d` defaults. */
export interface ConvOptions {
  /** @defaultValue 1 */
  readonly stride?: number;
  /** @defaultValue 0 */
  readonly pad?: number;
  /** @defaultValue 1 */
  readonly groups?: number;
  /** @defaultValue true */
  readonly bias?: boolean;
}

export function conv(outChannels: number, kernel: number, options: ConvOptions = {}): ConvLayer {
  return {
    op: 'conv',
    outChannels,
    kernel,
    stride: options.stride ?? 1,
    pad: options.pad ?? 0,
    groups: options.groups ?? 1,
    bias: options.bias ?? true,
  };
}

/** PyTorch's `BatchNorm2d` default epsilon, used by every torchvision model in the zoo. */
export const BN_EPS = 1e-5;

export function batchnorm(eps = BN_EPS): BatchNormLayer {
  return { op: 'batchnorm', eps };
}

export const relu = (): ReluLayer => ({ op: 'relu' });
export const relu6 = (): Relu6Layer => ({ op: 'relu6' });
export const flatten = (): FlattenLayer => ({ op: 'flatten' });
export const softmax = (): SoftmaxLayer => ({ op: 'softmax' });
export const dropout = (p: number): DropoutLayer => ({ op: 'dropout', p });

export function maxpool(kernel: number, stride: number, pad = 0, ceilMode = false): MaxPoolLayer {
  return { op: 'maxpool', kernel, stride, pad, ceilMode };
}

export function adaptiveAvgPool(outSize: number): AdaptiveAvgPoolLayer {
  return { op: 'adaptive-avgpool', outSize };
}

export function fc(outFeatures: number, bias = true): FcLayer {
  return { op: 'fc', outFeatures, bias };
}

export function residual(body: readonly Layer[], shortcut: readonly Layer[] = []): ResidualLayer {
  return { op: 'residual', body, shortcut };
}

export function concat(...branches: readonly (readonly Layer[])[]): ConcatLayer {
  return { op: 'concat', branches };
}

/** PyTorch `LocalResponseNorm` defaults for alpha, beta and k. */
export function lrn(size: number, alpha = 1e-4, beta = 0.75, k = 1): LrnLayer {
  return { op: 'lrn', size, alpha, beta, k };
}
