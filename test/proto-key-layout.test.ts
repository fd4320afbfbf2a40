import { describe, expect, it } from 'vitest';
import {
  answerKey,
  backlogKey,
  claimKey,
  decisionsKey,
  epochKey,
  incomingKey,
  redisPrefixProblem,
  ueOfQueue,
  ueQueueName,
} from '../proto/index.js';
import { hashTagOf, parseRedisUrl } from '../runtime/redis-connect.js';
import { leaderKey } from '../scheduler/service/leader-lock.js';

describe('Redis key layout for Redis Cluster', () => {
  it('gives every key of one UE (queue, claims, incoming tensors, answers, backlog) the same hash tag, its own', () => {
    for (const ue of ['ue-7', 'cam.1', 'A_b-9']) {
      const tags = new Set(
        [
          `edgesplit:${ueQueueName(ue)}:wait`,
          `edgesplit:${ueQueueName(ue)}:${ue}.r-1`,
          claimKey('edgesplit', ue, 'r-1'),
          incomingKey('edgesplit', ue, 'r-1'),
          answerKey('edgesplit', ue, 'r-2'),
          backlogKey('edgesplit', ue),
          `${backlogKey('edgesplit', ue)}:bytes`,
        ].map(hashTagOf),
      );
      expect([...tags]).toEqual([ue]);
    }
    expect(hashTagOf(claimKey('p', 'ue-1', 'r'))).not.toBe(hashTagOf(claimKey('p', 'ue-2', 'r')));
  });

  it("puts the scheduler's lock, epoch and decisions under one tag", () => {
    const tags = new Set(
      ['p', 'edgesplit'].flatMap((p) =>
        [leaderKey(p), epochKey(p), decisionsKey(p)].map(hashTagOf),
      ),
    );
    expect([...tags]).toEqual(['scheduler']);
  });

  it('reads the UE back from a queue name, and nothing from other names', () => {
    expect(ueOfQueue(ueQueueName('ue-7'))).toBe('ue-7');
    for (const name of ['ue.ue-7', 'ue.{}', 'ue.{a}{b}', 'x.{ue-7}', 'ue.{a}b'])
      expect(ueOfQueue(name), name).toBeUndefined();
  });

  it('refuses Redis prefixes with braces or white space, which would move the hash tag', () => {
    expect(redisPrefixProblem('edgesplit')).toBeUndefined();
    expect(redisPrefixProblem('e2e-1f2a')).toBeUndefined();
    for (const prefix of ['{edgesplit}', 'a{b', 'a}b', 'a b', '', 'x'.repeat(129)])
      expect(redisPrefixProblem(prefix), prefix).toBeDefined();
  });
});

describe('the Redis URL', () => {
  it('takes a single server as it is', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({
      cluster: false,
      url: 'redis://127.0.0.1:6379',
    });
    expect(parseRedisUrl('rediss://user:pw@host:6380/2').cluster).toBe(false);
  });

  it('reads a cluster URL: seed nodes, credentials, TLS', () => {
    expect(parseRedisUrl('redis+cluster://127.0.0.1:7000,127.0.0.1:7001,[::1]:7002/')).toEqual({
      cluster: true,
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      tls: false,
    });
    expect(parseRedisUrl('rediss+cluster://app:p%40ss@redis-a.local:6379')).toEqual({
      cluster: true,
      nodes: [{ host: 'redis-a.local', port: 6379 }],
      tls: true,
      username: 'app',
      password: 'p@ss',
    });
    expect(parseRedisUrl('redis+cluster://:secret@h:1')).toMatchObject({ password: 'secret' });
  });

  it('refuses malformed URLs without echoing a password', () => {
    const bad = [
      'http://h:1',
      'h:6379',
      'redis+cluster://',
      'redis+cluster://h',
      'redis+cluster://h:0',
      'redis+cluster://h:65536',
      'redis+cluster://h:1,,h:2',
      'redis+cluster://h:1/db',
      'redis+cluster://h:1?x=1',
      'redis+cluster://bad host:1',
      'redis+cluster://u:%zz-hunter2@h:1',
      `redis+cluster://${Array.from({ length: 65 }, (_, i) => `h:${i + 1}`).join(',')}`,
    ];
    for (const url of bad) {
      expect(() => parseRedisUrl(url), url).toThrow(RangeError);
      try {
        parseRedisUrl(url);
      } catch (error) {
        expect((error as Error).message).not.toContain('hunter2');
      }
    }
  });
});
