import type { Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** Options of `connectMqtt`: mqtt.js's options plus the URL. */
export interface MqttConnectOptions extends IClientOptions {
  /** Broker URL (`mqtt://`, `mqtts://`, `ws://`, `wss://`). */
  url: string;
}

function noDelay(client: MqttClient): void {
  // With Nagle on, a small round trip on loopback waits for the delayed ACK (about 88 ms).
  (client.stream as Partial<Socket> | undefined)?.setNoDelay?.(true);
}

/**
 * Connects an MQTT client with Nagle's algorithm off on every socket it opens, and resolves
 * once connected. `setup` runs on the client before anything is sent: with a persistent session
 * (`clean: false`) a broker may send queued messages right behind the CONNACK (Mosquitto does,
 * in the same segment) and mqtt.js handles them before the caller's continuation could attach
 * a 'message' listener. Rejects on an error or a close before the first CONNACK; afterwards
 * mqtt.js reconnects by itself.
 */
export async function connectMqtt(
  options: MqttConnectOptions,
  setup?: (client: MqttClient) => void,
): Promise<MqttClient> {
  const { url, ...rest } = options;
  const client = mqtt.connect(url, { reconnectPeriod: 500, connectTimeout: 10_000, ...rest });
  setup?.(client);
  // mqtt.js opens the first socket inside connect(); later ones (reconnects) are set when
  // their CONNECT goes out.
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
