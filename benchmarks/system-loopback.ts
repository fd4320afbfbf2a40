/**
 * What this machine's loopback carries: one TCP stream through 127.0.0.1 (both ends in this
 * process), its MB/s and the CPU its bytes cost. Every request moves its tensor over loopback at
 * least three times (UE to broker, ingress to Redis, Redis to edge worker; the fewest a claim
 * check allows), so this bounds the throughput of any layout on this machine.
 */
import { connect, createServer, type Socket } from 'node:net';
import { ownCpuMs } from './system-cpu.js';

/** Loopback hops every request's tensor takes at the least. */
export const TENSOR_HOPS = 3;

export interface LoopbackResult {
  /** Megabytes (2^20 bytes) per second over one stream. */
  readonly mbPerSecond: number;
  /** CPU ms (user + system, both ends) per megabyte moved. */
  readonly cpuMsPerMb: number;
}

const CHUNK = Buffer.alloc(1 << 20, 7);

export async function measureLoopback(totalMb = 256): Promise<LoopbackResult> {
  const total = totalMb * CHUNK.length;
  let received = 0;
  let finished: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const server = createServer((socket) =>
    socket.on('data', (data) => {
      received += data.length;
      if (received >= total) {
        socket.end();
        finished();
      }
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const client: Socket = connect(address.port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const cpuBefore = ownCpuMs();
  const started = performance.now();
  let sent = 0;
  const pump = () => {
    while (sent < total) {
      sent += CHUNK.length;
      if (!client.write(CHUNK)) return void client.once('drain', pump);
    }
  };
  pump();
  await done;
  const seconds = (performance.now() - started) / 1000;
  const cpuMs = ownCpuMs() - cpuBefore;
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { mbPerSecond: totalMb / seconds, cpuMsPerMb: cpuMs / totalMb };
}

/**
 * Requests/s at which `TENSOR_HOPS` hops of `tensorBytes` each fill the loopback, and the cores
 * their bytes alone would take at `perSecond` requests/s.
 */
export function loopbackCeiling(
  loopback: LoopbackResult,
  tensorBytes: number,
  perSecond: number,
): { readonly perSecond: number; readonly coresAtTarget: number } {
  const mbPerRequest = (TENSOR_HOPS * tensorBytes) / 2 ** 20;
  return {
    perSecond: loopback.mbPerSecond / mbPerRequest,
    coresAtTarget: (perSecond * mbPerRequest * loopback.cpuMsPerMb) / 1000,
  };
}
