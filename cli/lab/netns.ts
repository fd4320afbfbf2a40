/**
 * The lab's network: Linux network namespaces joined by veth pairs, shaped with `tc` tbf
 * (docs/links-and-lab.md, "The lab"). Namespaces are named `eslab-{owner}-e` (edge) and
 * `eslab-{owner}-u{k}` (UE k), veths `eslab{owner}a{k}`/`b{k}`, `owner` being the lab's process
 * id in base 36, so that a namespace left by a killed run is recognised (its owner
 * is gone) and removed at the next start, and concurrent runs never touch each other's.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { EdgesplitError, type ErrorOptions } from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';

const run = promisify(execFile);

/** Prefix of every namespace and interface the lab creates. */
export const LAB_PREFIX = 'eslab';
/** Most UEs of one lab: one /30 per UE in 10.213.0.0/24 and 15-character interface names. */
export const MAX_LAB_UES = 60;

/** Why the lab cannot run here; the command exits 2 with its message. */
export class LabUnavailableError extends EdgesplitError<'LAB_UNAVAILABLE'> {
  constructor(message: string, options?: ErrorOptions) {
    super('LAB_UNAVAILABLE', message, options);
    this.name = 'LabUnavailableError';
  }
}

/** Runs `command args`; rejects with its stderr in the message. */
export async function sh(command: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run(command, [...args], { timeout: 20_000 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`${command} ${args.join(' ')}: ${stderr || asError(error).message}`);
  }
}

/** Names and addresses of one lab run. */
export interface LabTopology {
  readonly owner: string;
  readonly edgeNs: string;
  readonly ues: readonly UeLink[];
}

/** One UE's namespace and its veth pair to the edge namespace. */
export interface UeLink {
  readonly index: number;
  readonly ns: string;
  /** The pair's end in the edge namespace (its egress is the UE's downlink). */
  readonly edgeIf: string;
  /** The pair's end in the UE namespace (its egress is the UE's uplink). */
  readonly ueIf: string;
  readonly edgeAddress: string;
  readonly ueAddress: string;
}

export function labTopology(ues: number, pid: number = process.pid): LabTopology {
  const owner = pid.toString(36);
  const tag = `${LAB_PREFIX}${owner}`;
  return {
    owner,
    edgeNs: `${LAB_PREFIX}-${owner}-e`,
    ues: Array.from({ length: ues }, (_, index) => ({
      index,
      ns: `${LAB_PREFIX}-${owner}-u${index}`,
      edgeIf: `${tag}a${index}`,
      ueIf: `${tag}b${index}`,
      edgeAddress: `10.213.0.${4 * index + 1}`,
      ueAddress: `10.213.0.${4 * index + 2}`,
    })),
  };
}

/** The owner (a pid) of a lab namespace name, if it is one. */
export function ownerOf(ns: string): number | undefined {
  const match = new RegExp(`^${LAB_PREFIX}-([0-9a-z]+)-(e|u\\d+)$`).exec(ns);
  if (match?.[1] === undefined) return undefined;
  const pid = Number.parseInt(match[1], 36);
  return Number.isSafeInteger(pid) ? pid : undefined;
}

/**
 * Whether process `pid` still runs. Any process counts, not only `edgesplit lab`: a benchmark
 * runs the lab inside its own process, and a lab's namespaces must never go while it runs (a
 * pid reused by another process only delays their removal until that one ends).
 */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function listNamespaces(): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list']);
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

/** Kills what runs in `ns` (processes the lab started there) and deletes it. */
export async function removeNamespace(ns: string): Promise<void> {
  const pids = await sh('ip', ['netns', 'pids', ns]).catch(() => '');
  for (const pid of pids.split('\n').filter((line) => /^\d+$/.test(line))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await sh('ip', ['netns', 'del', ns]).catch(() => {});
}

/** Removes the namespaces of labs no longer running; returns their names. */
export async function removeStale(): Promise<string[]> {
  const stale = (await listNamespaces()).filter((ns) => {
    const owner = ownerOf(ns);
    return owner !== undefined && owner !== process.pid && !isRunning(owner);
  });
  for (const ns of stale) await removeNamespace(ns);
  return stale;
}

/** tbf for `mbps`: a bucket of 4 ms at the rate (at least 1600 bytes), a queue of 200 ms. */
export function tbfArgs(mbps: number): string[] {
  const bytesPerSecond = (mbps * 1e6) / 8;
  const burst = Math.max(1600, Math.round(bytesPerSecond * 0.004));
  return [
    'tbf',
    'rate',
    `${Math.round(mbps * 1000)}kbit`,
    'burst',
    String(burst),
    'latency',
    '200ms',
  ];
}

/** Sets (first time: adds) the tbf shaping `ifname`'s egress in `ns`. */
export async function shape(ns: string, ifname: string, mbps: number, add = false): Promise<void> {
  await sh('tc', [
    '-n',
    ns,
    'qdisc',
    add ? 'add' : 'change',
    'dev',
    ifname,
    'root',
    ...tbfArgs(mbps),
  ]);
}

/** What the kernel's `tc` offers the lab, found by trying it on the lab's first veth. */
export interface TcSupport {
  readonly tbf: boolean;
  readonly netem: boolean;
}

/**
 * Checks that this process may build the lab: root, network namespaces; throws
 * LabUnavailableError otherwise.
 */
export async function checkPrivileges(): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new LabUnavailableError(
      'the lab needs root (network namespaces, veth pairs and tc): run it as root, e.g. sudo',
    );
  try {
    await sh('ip', ['netns', 'list']);
  } catch (error) {
    throw new LabUnavailableError(
      `no network namespaces here (${asError(error).message}): the lab needs iproute2's ip netns`,
    );
  }
}

/** Builds the namespaces and links; returns what tc offers. Throws if tbf is missing. */
export async function buildNetwork(
  topology: LabTopology,
  rates: readonly { readonly uplinkMbps: number; readonly downlinkMbps: number }[],
): Promise<TcSupport> {
  const { edgeNs } = topology;
  await sh('ip', ['netns', 'add', edgeNs]);
  await sh('ip', ['-n', edgeNs, 'link', 'set', 'lo', 'up']);
  let netem = false;
  for (const ue of topology.ues) {
    await sh('ip', ['netns', 'add', ue.ns]);
    await sh('ip', ['-n', ue.ns, 'link', 'set', 'lo', 'up']);
    // Created in the edge namespace, the UE's end then moved into its own.
    await sh('ip', [
      '-n',
      edgeNs,
      'link',
      'add',
      ue.edgeIf,
      'type',
      'veth',
      'peer',
      'name',
      ue.ueIf,
      'netns',
      ue.ns,
    ]);
    await sh('ip', ['-n', edgeNs, 'addr', 'add', `${ue.edgeAddress}/30`, 'dev', ue.edgeIf]);
    await sh('ip', ['-n', ue.ns, 'addr', 'add', `${ue.ueAddress}/30`, 'dev', ue.ueIf]);
    // One segment per packet, as on a wire: tbf must never hold a packet larger than the bucket.
    // A veth otherwise passes TCP's GSO packets (up to 64 KB) to tbf whole; after `tc qdisc
    // change` to a lower rate (a smaller bucket), one queued before the change that exceeds the
    // new bucket can never be sent, and the link stalls for good behind it (docs/links-and-lab.md,
    // "The lab").
    await sh('ip', ['-n', edgeNs, 'link', 'set', ue.edgeIf, 'gso_max_segs', '1', 'up']);
    await sh('ip', ['-n', ue.ns, 'link', 'set', ue.ueIf, 'gso_max_segs', '1', 'up']);
    if (ue.index === 0) {
      netem = await sh('tc', [
        '-n',
        ue.ns,
        'qdisc',
        'add',
        'dev',
        ue.ueIf,
        'root',
        'netem',
        'delay',
        '1ms',
      ])
        .then(() => sh('tc', ['-n', ue.ns, 'qdisc', 'del', 'dev', ue.ueIf, 'root']))
        .then(
          () => true,
          () => false,
        );
    }
    const rate = rates[ue.index];
    if (rate === undefined) throw new Error(`no rates for UE ${ue.index}`);
    try {
      await shape(ue.ns, ue.ueIf, rate.uplinkMbps, true);
      await shape(edgeNs, ue.edgeIf, rate.downlinkMbps, true);
    } catch (error) {
      throw new LabUnavailableError(
        `tc cannot shape with tbf here (${asError(error).message}): the lab needs the kernel's sch_tbf`,
      );
    }
  }
  return { tbf: true, netem };
}

/** Deletes this run's namespaces (their veths go with them) and what runs in them. */
export async function teardown(topology: LabTopology): Promise<void> {
  const existing = new Set(await listNamespaces().catch(() => []));
  for (const ns of [...topology.ues.map((ue) => ue.ns), topology.edgeNs])
    if (existing.has(ns)) await removeNamespace(ns);
}
