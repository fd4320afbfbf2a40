/**
 * The reference an estimate is judged against: a plain bulk TCP transfer over a UE's shaped
 * uplink, from its namespace to a sink in the edge's, timed while the machine is as loaded as
 * during the run (docs/links-and-lab.md, "Reference transfers"). A shaped rate says what tbf
 * lets through; a busy host or TCP's own overhead deliver less, to the agent and to this
 * transfer alike.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { median } from '../../stats/quantile.js';
import type { UeLink } from './netns.js';

/** The sink: takes one connection, counts what it reads and answers the count at the end. */
const SINK = `
const net = require('node:net');
const server = net.createServer((socket) => {
  let bytes = 0;
  socket.on('data', (chunk) => { bytes += chunk.length; });
  socket.on('end', () => socket.end(String(bytes)));
  socket.on('error', () => {});
});
server.listen(Number(process.argv[2]), process.argv[1], () => console.log('listening'));
`;

/** The source: sends `bytes` zeros, then times until the sink says it read them all. */
const SOURCE = `
const net = require('node:net');
const [host, port, bytes] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const socket = net.connect(port, host, () => {
  socket.setNoDelay(true);
  const started = performance.now();
  const chunk = Buffer.alloc(64 * 1024);
  let left = bytes;
  const write = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return socket.once('drain', write);
    }
    socket.end();
  };
  let answer = '';
  socket.on('data', (data) => { answer += data; });
  socket.on('end', () => console.log(JSON.stringify({ bytes: Number(answer), ms: performance.now() - started })));
  write();
});
socket.on('error', (error) => { console.error(error.message); process.exit(1); });
`;

/** Transfers of one reference; the median is taken (one can be delayed by a busy host). */
const TRANSFERS = 3;
/** Each transfer lasts about this long at the shaped rate. */
const TRANSFER_MS = 700;
/** The sink's port in the edge namespace (the broker has 1883, redis 6379). */
const SINK_PORT = 5201;

function nodeIn(ns: string, script: string, args: readonly string[]): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The first stdout line of `child`; rejects if it exits first or after `timeoutMs`. */
function firstLine(child: ChildProcess, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what}: nothing within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    if (child.stdout === null) return reject(new Error(`${what}: no stdout`));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}): ${stderr.trim().slice(-500)}`));
    });
  });
}

/**
 * Mbps of a bulk TCP transfer from `link`'s UE namespace to the edge namespace (the median of
 * TRANSFERS of about TRANSFER_MS each at `shapedMbps`): bytes over the time from the first
 * write to the sink's answer that it read them all.
 */
export async function referenceMbps(
  edgeNs: string,
  link: UeLink,
  shapedMbps: number,
): Promise<number> {
  const bytes = Math.round((shapedMbps * 1000 * TRANSFER_MS) / 8);
  const rates: number[] = [];
  for (let k = 0; k < TRANSFERS; k++) {
    const sink = nodeIn(edgeNs, SINK, [link.edgeAddress, String(SINK_PORT)]);
    try {
      await firstLine(sink, 30_000, 'reference sink');
      const source = nodeIn(link.ns, SOURCE, [link.edgeAddress, String(SINK_PORT), String(bytes)]);
      const line = await firstLine(source, 60_000, 'reference transfer');
      const result = JSON.parse(line) as { bytes: number; ms: number };
      if (result.bytes !== bytes)
        throw new Error(`reference transfer: the sink read ${result.bytes} of ${bytes} bytes`);
      rates.push((bytes * 8) / (result.ms * 1000));
    } finally {
      sink.kill('SIGKILL');
    }
  }
  return median(rates) ?? Number.NaN;
}
