/**
 * Connecting an MQTT client whose handlers must be in place before the CONNECT. With a
 * persistent session (`clean: false`) a broker may send the queued messages right behind the
 * CONNACK (Mosquitto does, in the same segment); mqtt.js handles them on process.nextTick,
 * before the continuation of `await connectMqtt(...)` can attach a 'message' listener, and
 * acknowledges them unseen. proto's `connectMqtt` offers no hook for this, hence this variant.
 */
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import type { MqttConnectOptions } from '../proto/index.js';

function noDelay(client: MqttClient): void {
  // With Nagle on, a small round trip waits for the delayed ACK (about 88 ms on loopback).
  (client.stream as Partial<Socket> | undefined)?.setNoDelay?.(true);
}

/**
 * Connects like proto's `connectMqtt` (Nagle off, reconnecting by itself afterwards), calling
 * `setup` on the client before anything is sent. Rejects on an error or a close before the
 * first CONNACK.
 */
export async function connectWithHandlers(
  options: MqttConnectOptions,
  setup: (client: MqttClient) => void,
): Promise<MqttClient> {
  const { url, ...rest } = options;
  const client = mqtt.connect(url, { reconnectPeriod: 500, connectTimeout: 10_000, ...rest });
  setup(client);
  // The first socket exists already; later ones (reconnects) are set when the CONNECT goes out.
  noDelay(client);
  client.on('packetsend', (packet) => {
    if (packet.cmd === 'connect') noDelay(client);
  });
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
      if (error === undefined) {
        resolve();
        return;
      }
      client.end(true);
      reject(error);
    };
    const onConnect = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error(`connection to ${url} closed before the CONNACK`));
    client.once('connect', onConnect);
    client.once('error', onError);
    client.once('close', onClose);
  });
  return client;
}
