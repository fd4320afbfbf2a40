/**
 * A bare aedes broker in the test process, on 127.0.0.1: no authentication, no ingress, for
 * tests of a client of the broker (agents, edge workers, the scheduler service).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';

export interface TestBroker {
  readonly port: number;
  readonly url: string;
  /** The broker itself, for tests that step into its handling. */
  readonly aedes: Aedes;
  close(): Promise<void>;
}

/** A bare aedes broker on 127.0.0.1 (`port` 0: any free port), with `options` given to aedes. */
export async function startBroker(port = 0, options?: AedesOptions): Promise<TestBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    // Nagle on the broker side delays small packets by tens of ms (see runtime/mqtt-connect.ts).
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    port: address.port,
    url: `mqtt://127.0.0.1:${address.port}`,
    aedes: broker,
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
