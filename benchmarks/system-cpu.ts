/**
 * CPU time of processes, read from Linux's /proc (undefined elsewhere or for a gone process),
 * and of the Redis server, from its INFO.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';

/** Clock ticks per second of /proc/{pid}/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

function cpuMsOf(pid: number): number | undefined {
  try {
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of `pids` together, in ms; undefined if any cannot be read. */
export function cpuMs(pids: readonly number[]): number | undefined {
  let total = 0;
  for (const pid of pids) {
    const ms = cpuMsOf(pid);
    if (ms === undefined) return undefined;
    total += ms;
  }
  return total;
}

/** This process's user + system CPU time, in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The Redis server's user + system CPU time (INFO cpu, all its threads), in ms. */
export async function redisCpuMs(redisUrl: string): Promise<number | undefined> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('cpu');
    const seconds = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
    const total = seconds('used_cpu_sys') + seconds('used_cpu_user');
    return Number.isFinite(total) ? total * 1000 : undefined;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/** Calls and server time (µs) of one Redis command, as INFO commandstats counts them. */
export interface CommandCount {
  readonly calls: number;
  readonly usec: number;
}

/**
 * The Redis server's count of each command since its start (INFO commandstats: calls made from
 * scripts count too, and a script's time includes theirs), or undefined when unreadable.
 */
export async function redisCommandCounts(
  redisUrl: string,
): Promise<Map<string, CommandCount> | undefined> {
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('commandstats');
    const counts = new Map<string, CommandCount>();
    for (const [, name, calls, usec] of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm))
      if (name !== undefined) counts.set(name, { calls: Number(calls), usec: Number(usec) });
    return counts;
  } catch {
    return undefined;
  } finally {
    redis.disconnect();
  }
}

/**
 * Per request, the commands counted between two readings of `redisCommandCounts` (whatever else
 * used that Redis meanwhile counts too), most calls first; commands under 0.01 calls per request
 * are left out.
 */
export function commandsPerRequest(
  before: ReadonlyMap<string, CommandCount>,
  after: ReadonlyMap<string, CommandCount>,
  requests: number,
): Record<string, CommandCount> {
  const rows: [string, CommandCount][] = [];
  for (const [name, now] of after) {
    const then = before.get(name) ?? { calls: 0, usec: 0 };
    const calls = (now.calls - then.calls) / requests;
    if (calls >= 0.01) rows.push([name, { calls, usec: (now.usec - then.usec) / requests }]);
  }
  rows.sort((a, b) => b[1].calls - a[1].calls);
  return Object.fromEntries(rows);
}
