/**
 * The fence in front of every publish (docs/live-system.md, "Faults"): before a solve publishes
 * anything, one Redis script checks that this scheduler still holds the leadership lock and that
 * no later epoch is recorded, then records the solve's epoch and decision changes (the snapshot
 * edge workers and later leaders read). A scheduler deposed while it was paused learns it here,
 * before it sends a single message; epochs are recorded only by the lock holder, so two
 * schedulers never publish the same epoch and a later leader always starts above what an earlier
 * one may still have in flight.
 */

import { decisionsKey, encodeMessage, epochKey } from '../../proto/index.js';
import { type DecisionSnapshot, readDecisionSnapshot } from '../../runtime/decision-snapshot.js';
import type { RedisClient } from '../../runtime/redis-connect.js';
import { leaderKey } from './leader-lock.js';
import type { DecisionLedger, LedgerOutcome, LedgerRecord } from './ports.js';

/**
 * KEYS: lock, epoch, decisions. ARGV: holder id ('' = no lock to check), epoch, '1' to replace
 * the whole hash, then UE id and payload pairs (an empty payload deletes the UE's field).
 * 1: recorded; 0: the lock is another's (or nobody's); -1: a later epoch is recorded;
 * 2: no epoch is recorded (a fresh or wiped Redis) and this was no full record.
 */
const COMMIT = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local recorded = redis.call('GET', KEYS[2])
if recorded and tonumber(recorded) > tonumber(ARGV[2]) then return -1 end
if ARGV[3] ~= '1' and not recorded then return 2 end
if ARGV[3] == '1' then redis.call('DEL', KEYS[3]) end
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    redis.call('HDEL', KEYS[3], ARGV[i])
  else
    redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  end
end
redis.call('SET', KEYS[2], ARGV[2])
return 1`;

/** The Redis ledger; `holder` is the id that must hold the lock, undefined for no lock check. */
export class RedisDecisionLedger implements DecisionLedger {
  private readonly keys: readonly [string, string, string];

  constructor(
    private readonly redis: RedisClient,
    private readonly redisPrefix: string,
    private readonly holder: string | undefined,
  ) {
    this.keys = [leaderKey(redisPrefix), epochKey(redisPrefix), decisionsKey(redisPrefix)];
  }

  read(): Promise<DecisionSnapshot | undefined> {
    return readDecisionSnapshot(this.redis, this.redisPrefix);
  }

  async commit(record: LedgerRecord): Promise<LedgerOutcome> {
    const args: (string | Buffer)[] = [
      this.holder ?? '',
      String(record.epoch),
      record.full ? '1' : '0',
    ];
    for (const [ue, decision] of record.set) args.push(ue, encodeMessage(decision));
    for (const ue of record.clear) args.push(ue, '');
    const reply = await this.redis.eval(COMMIT, 3, ...this.keys, ...args);
    switch (reply) {
      case 1:
        return { kind: 'recorded' };
      case 2:
        return { kind: 'needsFull' };
      case 0:
        return { kind: 'deposed', reason: 'another scheduler holds the leadership' };
      default:
        return { kind: 'deposed', reason: 'another scheduler recorded a later epoch' };
    }
  }
}
