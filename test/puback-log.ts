/** Which `infer` requests a UE's broker acknowledged (PUBACK), from the client's packet events. */
import type { MqttClient } from 'mqtt';
import { decodeMessage } from '../proto/index.js';

export class PubackLog {
  /** Request ids whose PUBLISH got its PUBACK. */
  readonly acked = new Set<string>();
  readonly #byMessageId = new Map<number, string>();

  constructor(client: MqttClient) {
    client.on('packetsend', (packet) => {
      if (packet.cmd !== 'publish' || !packet.topic.endsWith('/infer')) return;
      if (packet.messageId === undefined) return;
      const payload =
        typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const decoded = decodeMessage('infer', payload);
      if (decoded.ok) this.#byMessageId.set(packet.messageId, decoded.value.requestId);
    });
    client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'puback' || packet.messageId === undefined) return;
      const requestId = this.#byMessageId.get(packet.messageId);
      if (requestId === undefined) return;
      this.#byMessageId.delete(packet.messageId);
      this.acked.add(requestId);
    });
  }
}
