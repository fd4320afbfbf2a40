/**
 * One socket write for the commands a Redis client sends in one turn of the event loop. ioredis
 * writes each command of a client without auto-pipelining to its socket at once: a system call
 * per command, and a read per command on Redis's side. BullMQ's commands on such a connection
 * (jobs added, or moved on by many Workers) mostly start together, as the replies that let them
 * go arrive together. Corking the socket at the first command of a turn and uncorking it once the
 * turn's promise continuations have run (`process.nextTick`, as mqtt-packet does for MQTT)
 * hands them to the kernel in one write, in the same order and with nothing delayed past that
 * turn. Unlike auto-pipelining, it builds no batch object (ioredis copies every script defined on
 * the connection into each) and waits for no later phase of the event loop.
 */
import { type Cluster, Redis } from 'ioredis';

/**
 * Makes `client` gather its writes per turn of the event loop. A cluster client is left as it
 * is: its commands go through clients of its own, one per node.
 */
export function gatherWrites(client: Redis | Cluster): void {
  if (!(client instanceof Redis)) return;
  const send = client.sendCommand.bind(client);
  let corked = false;
  client.sendCommand = (command, stream) => {
    const socket = client.stream;
    if (!corked && stream === undefined && client.status === 'ready' && socket?.writable) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    return send(command, stream);
  };
}
