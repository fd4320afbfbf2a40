import { expect } from 'vitest';
import type { CliProcess } from './cli-process.js';

/** The jobs an edge worker logged as completed and failed when it stopped cleanly. */
export function workerCounts(worker: CliProcess): { completed: number; failed: number } {
  const line = worker.matching('stderr', /offline \(\d+ completed, \d+ failed\)/).at(-1) ?? '';
  const match = /offline \((\d+) completed, (\d+) failed\)/.exec(line);
  expect(match, `${worker.name} logged no final counts\n${worker.tail()}`).not.toBeNull();
  return { completed: Number(match?.[1]), failed: Number(match?.[2]) };
}
