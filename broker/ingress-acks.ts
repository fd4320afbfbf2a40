/**
 * Several requests of one ingress connection stored at once, each acknowledged only once it is
 * stored (or its UE has an error). mqtt.js hands a connection's messages to `handleMessage` one
 * at a time and sends a QoS 1 message's PUBACK when it calls back, reading the next packet only
 * then: one request per connection in Redis at a time, each Redis write carrying one request's
 * commands, and the UEs' queues mostly empty, so that edge workers fetch every job through a
 * blocking wake-up. Here `handleMessage` calls back at once with {@link ACK_DEFERRED}, which
 * tells mqtt.js to send no PUBACK and go on reading, and the PUBACK goes out through mqtt.js's
 * own `_sendPacket` once the request is stored, in the order the messages came (MQTT 3.1.1,
 * 4.6: a receiver sends PUBACKs in the order of the PUBLISHes).
 *
 * Memory stays bounded as in the embedded broker: a connection with `perConnection` requests
 * being stored, or any while the ingress has `total` of them or `totalBytes` of their payloads,
 * is not read from until one is done (its `handleMessage` callback is held). A message taken
 * while closing is neither stored nor acknowledged: the broker delivers it again (persistent
 * session) or the UE resends it (a group member's clean session). So is one that came on a
 * connection lost before it was stored: its PUBACK is not sent on the new connection.
 */
import type { MqttClient } from 'mqtt';

/** What mqtt.js's `handleMessage` is called back with here: send no PUBACK, read on. */
export const ACK_DEFERRED = new Error('the ingress acknowledges this message once it is stored');

/** Bounds on the requests being stored, like the embedded broker's defaults. */
export interface AckLimits {
  readonly perConnection: number;
  readonly total: number;
  readonly totalBytes: number;
}

export const DEFAULT_ACK_LIMITS: AckLimits = {
  perConnection: 16,
  total: 256,
  totalBytes: 256 * 1024 * 1024,
};

/** The mqtt.js internal that sends a packet (stored offline while disconnected). */
type SendPacket = (packet: { cmd: 'puback'; messageId: number }, cb?: () => void) => void;

function sendPacketOf(client: MqttClient): SendPacket {
  const send = (client as unknown as { _sendPacket?: unknown })._sendPacket;
  if (typeof send !== 'function')
    throw new Error(
      'mqtt.js has no _sendPacket: the ingress acknowledges requests through it (mqtt is pinned ' +
        'exactly in package.json; check broker/ingress-acks.ts before changing its version)',
    );
  return (send as SendPacket).bind(client);
}

interface Pending {
  readonly messageId: number | undefined;
  /** The socket the message came on: a PUBACK goes only on it. */
  readonly stream: unknown;
  done: boolean;
}

interface Connection {
  readonly client: MqttClient;
  readonly send: SendPacket;
  /** Messages in the order they came, acknowledged from the head as they are done. */
  readonly order: Pending[];
}

/** The acknowledgements of one ingress's request connections, and their shared bounds. */
export class IngressAcks {
  #requests = 0;
  #bytes = 0;
  #closing = false;
  /** Callbacks of connections not read from until the bounds allow. */
  readonly #held: { readonly connection: Connection; readonly resume: () => void }[] = [];
  readonly #idle = new Set<() => void>();

  constructor(private readonly limits: AckLimits = DEFAULT_ACK_LIMITS) {}

  /** Requests being stored now, over every connection. */
  get inFlight(): number {
    return this.#requests;
  }

  /**
   * Makes `client` hand its messages to `take` as they come, and acknowledge each once `take`
   * settles. Call before it connects. `take` must not reject. Returns how many of this
   * connection's messages are not acknowledged yet.
   */
  attach(
    client: MqttClient,
    take: (topic: string, payload: Buffer) => Promise<void>,
  ): () => number {
    const connection: Connection = { client, send: sendPacketOf(client), order: [] };
    client.handleMessage = (packet, callback) => {
      if (this.#closing) return; // not read on; delivered again later
      const payload = Buffer.isBuffer(packet.payload)
        ? packet.payload
        : Buffer.from(packet.payload);
      // QoS 2 (never: the ingress subscribes with QoS 1) keeps mqtt.js's own flow, one at a time.
      if (packet.qos === 2) {
        void take(packet.topic, payload).then(() => callback());
        return;
      }
      const messageId = packet.qos === 1 ? packet.messageId : undefined;
      const entry: Pending = { messageId, stream: client.stream, done: false };
      connection.order.push(entry);
      this.#requests += 1;
      this.#bytes += payload.length;
      void take(packet.topic, payload).then(() => {
        entry.done = true;
        this.#requests -= 1;
        this.#bytes -= payload.length;
        this.#acknowledge(connection);
        this.#resume();
      });
      if (this.#fits(connection)) callback(ACK_DEFERRED);
      else this.#held.push({ connection, resume: () => callback(ACK_DEFERRED) });
    };
    return () => connection.order.length;
  }

  /**
   * Stops taking messages (those that come are left unacknowledged, and their connections are
   * not read on) and resolves once every request taken is stored and acknowledged.
   */
  async close(): Promise<void> {
    this.#closing = true;
    this.#held.length = 0;
    while (this.#requests > 0) await new Promise<void>((resolve) => this.#idle.add(resolve));
  }

  #fits(connection: Connection): boolean {
    return (
      connection.order.length < this.limits.perConnection &&
      this.#requests < this.limits.total &&
      this.#bytes < this.limits.totalBytes
    );
  }

  #acknowledge(connection: Connection): void {
    const { order } = connection;
    let head = order[0];
    while (head?.done) {
      order.shift();
      // A message of a connection since lost is not acknowledged on the next one (mqtt.js would
      // send it there from its offline queue): its session delivers it again, or a group
      // member's clean session dropped it, and the message id may name another message by then.
      if (head.messageId !== undefined && connection.client.stream === head.stream)
        connection.send({ cmd: 'puback', messageId: head.messageId });
      head = order[0];
    }
  }

  #resume(): void {
    if (this.#requests === 0) {
      for (const resolve of this.#idle) resolve();
      this.#idle.clear();
    }
    if (this.#closing) return;
    for (let index = 0; index < this.#held.length; ) {
      const held = this.#held[index];
      if (held === undefined) break;
      if (!this.#fits(held.connection)) {
        index += 1;
        continue;
      }
      this.#held.splice(index, 1);
      held.resume();
    }
  }
}
