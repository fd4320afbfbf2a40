/**
 * One way for every process to reach Redis from `REDIS_URL`: a single server
 * (`redis://`, `rediss://`) or a Redis Cluster (`redis+cluster://host:port,host:port,...`,
 * `rediss+cluster://` with TLS). Every key edgesplit writes carries a hash tag, so the keys a
 * script or a transaction touches together share a slot (docs/scale-out.md).
 */
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A client of either kind; both take the same commands, scripts and BullMQ. */
export type RedisClient = Redis | Cluster;

/** A `REDIS_URL` read: a single server's URL, or a cluster's seed nodes and credentials. */
export type RedisTarget =
  | { readonly cluster: false; readonly url: string }
  | {
      readonly cluster: true;
      readonly nodes: readonly { readonly host: string; readonly port: number }[];
      readonly username?: string;
      readonly password?: string;
      readonly tls: boolean;
    };

const CLUSTER_SCHEMES: Readonly<Record<string, boolean>> = {
  'redis+cluster:': false,
  'rediss+cluster:': true,
};

/** Most seed nodes a cluster URL may name. */
const MAX_SEED_NODES = 64;

/**
 * Reads a `REDIS_URL`. A cluster URL names one or more seed nodes, comma-separated
 * (`redis+cluster://[user:password@]host:port[,host:port...]`); the client finds every other
 * node from them. Throws a RangeError saying what is wrong (never echoing a password).
 */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+:)\/\//.exec(url)?.[1];
  if (scheme === undefined || !(scheme in CLUSTER_SCHEMES)) {
    if (scheme !== 'redis:' && scheme !== 'rediss:')
      throw new RangeError(
        'a Redis URL must start with redis://, rediss://, redis+cluster:// or rediss+cluster://',
      );
    return { cluster: false, url };
  }
  let rest = url.slice(scheme.length + 2);
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const decode = (text: string) => {
      try {
        return decodeURIComponent(text);
      } catch {
        throw new RangeError('the credentials of the cluster URL are not valid percent-encoding');
      }
    };
    if (colon < 0) password = decode(userinfo);
    else {
      const user = decode(userinfo.slice(0, colon));
      if (user !== '') username = user;
      password = decode(userinfo.slice(colon + 1));
    }
  }
  rest = rest.replace(/\/$/, '');
  const seeds = rest.split(',');
  if (seeds.length > MAX_SEED_NODES)
    throw new RangeError(`a cluster URL names at most ${MAX_SEED_NODES} nodes`);
  const nodes = seeds.map((seed, index) => {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(seed);
    const port = Number(match?.[2]);
    if (match?.[1] === undefined || port < 1 || port > 65_535)
      throw new RangeError(`node ${index + 1} of the cluster URL must be host:port`);
    return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
  });
  return {
    cluster: true,
    nodes,
    tls: CLUSTER_SCHEMES[scheme] === true,
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
  };
}

/** Whether a `REDIS_URL` names a cluster. */
export function isClusterUrl(url: string): boolean {
  return parseRedisUrl(url).cluster;
}

/**
 * Options of `createRedis`: ioredis's, applied to every node of a cluster. `lazyConnect` and
 * `enableAutoPipelining` apply to the cluster client itself.
 */
export type CreateRedisOptions = RedisOptions;

/** A client for `url`: `Redis` for one server, `Cluster` for a cluster URL. */
export function createRedis(url: string, options: CreateRedisOptions = {}): RedisClient {
  const target = parseRedisUrl(url);
  if (!target.cluster) return new Redis(url, options);
  const { lazyConnect, enableAutoPipelining, ...nodeOptions } = options;
  const clusterOptions: ClusterOptions = {
    // Reads and writes both go to the masters: a replica may lag a claim just stored.
    scaleReads: 'master',
    redisOptions: {
      ...nodeOptions,
      ...(target.username === undefined ? {} : { username: target.username }),
      ...(target.password === undefined ? {} : { password: target.password }),
      ...(target.tls ? { tls: {} } : {}),
    },
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
  };
  return new Cluster(
    target.nodes.map((node) => ({ host: node.host, port: node.port })),
    clusterOptions,
  );
}

/**
 * Connects a client made with `lazyConnect`, within `timeoutMs`. On a cluster it waits for
 * ioredis's `ready` rather than `connect()`'s promise: when the first ready check finds
 * `cluster_state:fail` (a cluster just created, or failing over), ioredis reconnects under a new
 * promise and never settles the first one.
 */
export async function connectRedis(client: RedisClient, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onReady: (() => void) | undefined;
  let onEnd: (() => void) | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis not ready after ${timeoutMs} ms (${client.status})`)),
      timeoutMs,
    );
    if (!isCluster(client)) {
      client.connect().then(resolve, reject);
      return;
    }
    onReady = resolve;
    onEnd = () => reject(new Error('none of the cluster nodes is available'));
    client.once('ready', onReady);
    client.once('end', onEnd);
    client.connect().catch(reject);
  });
  try {
    await ready;
  } finally {
    clearTimeout(timer);
    if (onReady !== undefined) client.off('ready', onReady);
    if (onEnd !== undefined) client.off('end', onEnd);
  }
}

/** Whether a client is a cluster client. */
export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * Every key matching `pattern`, in batches given to `onKeys`, scanning every master of a
 * cluster (SCAN on a cluster client reaches one node only). `onKeys` may delete what it gets.
 */
export async function scanKeys(
  client: RedisClient,
  pattern: string,
  onKeys: (keys: string[]) => Promise<void>,
): Promise<void> {
  const nodes: Redis[] = isCluster(client) ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await onKeys(keys);
    } while (cursor !== '0');
  }
}

/**
 * Unlinks keys, which on a cluster may lie in different slots: one command per slot's keys
 * there, one command for all of them on a single server. Returns how many existed.
 */
export async function unlinkKeys(client: RedisClient, keys: readonly string[]): Promise<number> {
  if (keys.length === 0) return 0;
  if (!isCluster(client)) return client.unlink(...keys);
  const counts = await Promise.all(keys.map((key) => client.unlink(key)));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** The hash tag of a key (the part Redis Cluster hashes), as Redis takes it. */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  if (close < 0 || close === open + 1) return key;
  return key.slice(open + 1, close);
}
