/**
 * Protocol values of the ingress and agent suites: a valid request and a decision for it. Pure
 * data, importing nothing that connects, so a unit test may use them without services.
 */
import { randomBytes } from 'node:crypto';
import type { Decision, InferRequest } from '../proto/index.js';

/** A valid request with a fresh id. */
export function request(overrides: Partial<InferRequest> = {}): InferRequest {
  return {
    requestId: `r-${randomBytes(4).toString('hex')}`,
    epoch: 3,
    model: 'mobilenet-v2',
    cut: 2,
    sample: 1,
    tensor: { dtype: 'float32', shape: [1, 2, 2], data: new Float32Array([0.5, -1, 2, 3.25]) },
    sentAt: Date.now(),
    ...overrides,
  };
}

/** A decision of epoch 3 (the epoch `request` uses) giving `units` edge units. */
export function decision(units: number, epoch = 3): Decision {
  return {
    epoch,
    cut: units > 0 ? 2 : 5,
    cutName: units > 0 ? 'features.2' : 'output',
    units,
    predictedMs: 10,
    solver: 'optimal',
  };
}
