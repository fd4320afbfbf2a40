import type { Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

/** Options of `connectMqtt`: mqtt.js's options plus the URL. */
export interface MqttConnectOptions extends IClientOptions {
  /** Broker URL (`mqtt://`, `mqtts://`, `ws://`, `wss://`). */
  url: string;
}

/**
 * Connects an MQTT client with Nagle's algorithm off on its socket (with it on, a small round
 * trip on loopback takes about 88 ms instead of under 1 ms), and resolves once connected.
 * Rejects on the first connection error; afterwards mqtt.js reconnects by itself.
 */
export async function connectMqtt(options: MqttConnectOptions): Promise<MqttClient> {
  const { url, ...rest } = options;
  const client = mqtt.connect(url, { reconnectPeriod: 500, connectTimeout: 10_000, ...rest });
  const noDelay = () => {
    const stream = client.stream as Partial<Socket> | undefined;
    stream?.setNoDelay?.(true);
  };
  // mqtt.js writes the first CONNECT inside connect(): set noDelay on that stream now, and on
  // every stream a reconnect opens.
  noDelay();
  client.on('connect', noDelay);
  client.on('packetsend', (packet) => {
    if (packet.cmd === 'connect') noDelay();
  });
  await new Promise<void>((resolve, reject) => {
    const onConnect = () => {
      client.off('error', onError);
      resolve();
    };
    const onError = (error: Error) => {
      client.off('connect', onConnect);
      client.end(true);
      reject(error);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
  return client;
}
