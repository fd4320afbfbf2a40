import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENDED_SCENARIO } from '../dnn/index.js';
import { claimKey } from '../proto/index.js';
import { FILE_CLAIM_MARKER } from '../runtime/claim-files.js';
import { runStack } from '../system/index.js';
import { keysMatching } from './keys-matching.js';
import { testRedisUrl } from './services.js';

let redis: Redis;
let dir: string;
beforeAll(() => {
  redis = new Redis(testRedisUrl());
  dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'edgesplit-claims-'));
});
afterAll(async () => {
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

describe('a claim directory shared by the ingress and the edge workers of one host', () => {
  it('every request is answered once with its tensor in a file there (its claim key holds the marker), and no file is left', async () => {
    const warnings: string[] = [];
    /** Most tensor files seen at once, and claim keys seen holding the marker. */
    let mostFiles = 0;
    let markers = 0;
    let prefix: string | undefined;
    const watch = setInterval(() => {
      mostFiles = Math.max(mostFiles, readdirSync(dir).length);
      if (prefix === undefined) return;
      void keysMatching(redis, claimKey(prefix, '*', '*'))
        .then((keys) => Promise.all(keys.map((key) => redis.getBuffer(key))))
        .then((values) => {
          markers += values.filter((v) => v?.equals(FILE_CLAIM_MARKER) === true).length;
        })
        .catch(() => {});
    }, 20);
    let result: Awaited<ReturnType<typeof runStack>>;
    try {
      result = await runStack({
        port: 0,
        host: '127.0.0.1',
        redisUrl: testRedisUrl(),
        workers: 2,
        unitsPerWorker: 2,
        thinkTimeMs: 0,
        ues: 4,
        seed: 1,
        scenario: CONTENDED_SCENARIO,
        trace: { kind: 'constant' },
        durationS: 6,
        summaryEveryS: 6,
        stopGraceMs: 5000,
        claimDir: dir,
        onSummary: () => {},
        onWarning: (source, error) => {
          if (!error.message.startsWith('AUTHENTICATION IS OFF'))
            warnings.push(`${source}: ${error.message}`);
        },
        onReady: (info) => {
          prefix = info.redisPrefix;
        },
      });
    } finally {
      clearInterval(watch);
    }
    const { summary, view } = result;
    expect(warnings).toEqual([]);
    // Requests were offloaded, all answered, none lost or failed.
    expect(view.ingressAccepted).toBeGreaterThan(0);
    expect(summary.failed).toBe(0);
    expect(summary.ok).toBe(summary.requests);
    expect(view.edgeCompleted).toBe(view.ingressAccepted);
    // The tensors went through the directory, and Redis held only markers for them.
    expect(mostFiles).toBeGreaterThan(0);
    expect(markers).toBeGreaterThan(0);
    // Every finished job removed its file.
    expect(readdirSync(dir)).toEqual([]);
  });
});
