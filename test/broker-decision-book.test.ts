import { describe, expect, it } from 'vitest';
import { DecisionBook } from '../broker/decision-book.js';
import { type Decision, encodeMessage, ueTopic } from '../proto/index.js';

const P = 'edgesplit/v1';
const decision = (epoch: number, units: number): Buffer =>
  encodeMessage({
    epoch,
    cut: units > 0 ? 1 : 3,
    cutName: 'c',
    units,
    predictedMs: 10,
    solver: 'optimal',
  } satisfies Decision);

describe('the ingress decision book', () => {
  it('admits a request under the current epoch of a UE with units', () => {
    const book = new DecisionBook(P, 1000, 0, 0);
    book.offer(ueTopic(P, 'a', 'decision'), decision(4, 2), 0);
    expect(book.admits('a', 4, 10)).toEqual({ ok: true });
    expect(book.admits('a', 2, 10)).toEqual({ ok: true });
  });

  it('refuses an epoch ahead of the latest decision with EPOCH_AHEAD, naming both epochs', () => {
    const book = new DecisionBook(P, 1000, 0, 0);
    book.offer(ueTopic(P, 'a', 'decision'), decision(4, 2), 0);
    const verdict = book.admits('a', 1_000_000, 10);
    expect(verdict).toMatchObject({ ok: false, code: 'EPOCH_AHEAD' });
    expect(verdict.ok ? '' : verdict.reason).toContain('1000000 is ahead');
    expect(verdict.ok ? '' : verdict.reason).toContain('epoch 4');
  });

  it('refuses a UE of 0 units with NO_UNITS once requests of earlier epochs have drained', () => {
    const book = new DecisionBook(P, 1000, 0, 0);
    book.offer(ueTopic(P, 'a', 'decision'), decision(5, 0), 0);
    expect(book.admits('a', 4, 500)).toEqual({ ok: true });
    expect(book.admits('a', 4, 1500)).toMatchObject({ ok: false, code: 'NO_UNITS' });
    expect(book.admits('a', 5, 10)).toMatchObject({ ok: false, code: 'NO_UNITS' });
  });

  it('refuses a UE with no decision after the start-up grace, and forgets a cleared decision', () => {
    const book = new DecisionBook(P, 1000, 100, 0);
    expect(book.admits('b', 0, 50)).toEqual({ ok: true });
    expect(book.admits('b', 0, 150)).toMatchObject({ ok: false, code: 'NO_UNITS' });
    book.offer(ueTopic(P, 'b', 'decision'), decision(1, 1), 200);
    expect(book.admits('b', 1, 250)).toEqual({ ok: true });
    book.offer(ueTopic(P, 'b', 'decision'), Buffer.alloc(0), 300);
    expect(book.size).toBe(0);
  });
});

describe('the ingress profile book', () => {
  const profile = (batch: number): Buffer =>
    encodeMessage({
      model: 'm',
      batch,
      resultBytes: 0,
      cuts: [
        { name: 'in', deviceMs: 0, bytes: 4 },
        { name: 'out', deviceMs: 1, bytes: 4 },
      ],
    });

  it("refuses a sample at or beyond the UE's batch, naming the field and the batch", () => {
    const book = new DecisionBook(P, 1000, 0, 0);
    expect(book.sampleProblem('a', 5)).toBeUndefined(); // batch unknown: not judged
    book.offer(ueTopic(P, 'a', 'profile'), profile(2));
    expect(book.sampleProblem('a', 1)).toBeUndefined();
    expect(book.sampleProblem('a', 2)).toBe(
      "infer.sample: must be below the UE's batch of 2 (its profile), not 2",
    );
    book.offer(ueTopic(P, 'a', 'profile'), Buffer.alloc(0));
    expect(book.sampleProblem('a', 5)).toBeUndefined();
  });

  it('ignores an invalid profile, keeping what it knew', () => {
    const book = new DecisionBook(P, 1000, 0, 0);
    book.offer(ueTopic(P, 'a', 'profile'), profile(1));
    book.offer(ueTopic(P, 'a', 'profile'), encodeMessage({ model: 'm' } as never));
    expect(book.sampleProblem('a', 1)).toContain('batch of 1');
  });
});
