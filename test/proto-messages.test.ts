import { describe, expect, it } from 'vitest';
import {
  decodeMessage,
  type EdgeStatus,
  encodeMessage,
  errorReportFrom,
  type MessageKind,
  type Validated,
  ValidationError,
  validateMessage,
} from '../proto/index.js';
import { encodeAny, SAMPLES } from './proto-arbitraries.js';

function failure<T>(result: Validated<T>): ValidationError {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

function expectRejected(kind: MessageKind, bytes: Uint8Array, code: string, issue: string) {
  const error = failure(decodeMessage(kind, bytes));
  expect(error.code).toBe(code);
  expect(error.issues.join('\n')).toContain(issue);
}

describe('validation messages', () => {
  it('name the field, rooted at the message kind', () => {
    const bad = {
      ...SAMPLES.profile,
      cuts: SAMPLES.profile.cuts.map((c, i) => (i === 2 ? { ...c, deviceMs: -1 } : c)),
    };
    expectRejected(
      'profile',
      encodeAny(bad),
      'INVALID_PAYLOAD',
      'profile.cuts[2].deviceMs: must be a finite number >= 0',
    );
    const decreasing = {
      ...SAMPLES.profile,
      cuts: [
        SAMPLES.profile.cuts[0],
        { ...SAMPLES.profile.cuts[1], deviceMs: 200 },
        SAMPLES.profile.cuts[2],
      ],
    };
    expectRejected(
      'profile',
      encodeAny(decreasing),
      'INVALID_PAYLOAD',
      'profile.cuts[2].deviceMs: must not decrease along cuts: cut "output"',
    );
    const nonZero = {
      ...SAMPLES.profile,
      cuts: [{ ...SAMPLES.profile.cuts[0], deviceMs: 1 }, ...SAMPLES.profile.cuts.slice(1)],
    };
    expectRejected(
      'profile',
      encodeAny(nonZero),
      'INVALID_PAYLOAD',
      'profile.cuts[0].deviceMs: must be 0 at the first cut ("input")',
    );
  });

  it('check edge profiles: non-increasing, ending at 0, one entry per model', () => {
    const edge: EdgeStatus = {
      state: 'online',
      units: 4,
      models: [{ model: 'resnet18', edgeMs: [30.1, 28, 0] }],
      at: 1,
    };
    expect(decodeMessage('edgeStatus', encodeMessage(edge))).toEqual({ ok: true, value: edge });
    const cases: [unknown, string][] = [
      [[{ model: 'm', edgeMs: [3, 4, 0] }], 'edgeStatus.models[0].edgeMs[1]: must not increase'],
      [
        [{ model: 'm', edgeMs: [3, 1] }],
        'edgeStatus.models[0].edgeMs[1]: must be 0 at the last cut',
      ],
      [
        [
          { model: 'm', edgeMs: [1, 0] },
          { model: 'm', edgeMs: [2, 0] },
        ],
        'edgeStatus.models[1].model: duplicates models[0]',
      ],
    ];
    for (const [models, issue] of cases)
      expectRejected('edgeStatus', encodeAny({ ...edge, models }), 'INVALID_PAYLOAD', issue);
  });

  it('validateMessage checks already-decoded values', () => {
    expect(validateMessage('status', SAMPLES.status)).toEqual({ ok: true, value: SAMPLES.status });
    const error = failure(validateMessage('decision', { epoch: -1 }));
    expect(error.issues).toContain('decision.epoch: must be an integer >= 0');
  });

  it('errorReportFrom builds a valid, bounded report', () => {
    const issues = Array.from(
      { length: 80 },
      (_, i) => `SAMPLES.profile.cuts[${i}].name: ${'x'.repeat(2000)}`,
    );
    const report = errorReportFrom(new ValidationError('INVALID_PAYLOAD', issues), {
      topic: 'edgesplit/v1/ue/cam/profile',
      requestId: 'r'.repeat(1000),
    });
    expect(report.issues).toHaveLength(50);
    expect(report.code).toBe('INVALID_PAYLOAD');
    expect(decodeMessage('error', encodeMessage(report))).toEqual({ ok: true, value: report });
  });
});
