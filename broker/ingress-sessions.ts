/**
 * The request connections' persistent sessions of a lone ingress: their stable client ids, and
 * the sessions of an earlier run with more connections, drained and deleted at start
 * (docs/scale-out.md, "Client ids and sessions").
 */
import type { MqttClient } from 'mqtt';
import { connectMqtt, type MqttConnectOptions } from '../runtime/mqtt-connect.js';

/** Longest a stale request session is drained before it is deleted, ms. */
const STALE_DRAIN_MS = 30_000;
/** A stale session is drained once nothing arrived from it for this long, ms. */
const DRAIN_QUIET_MS = 100;

/** Request connections of one ingress by default, where the broker takes shared subscriptions. */
export const DEFAULT_INGRESS_CONNECTIONS = 8;
/** Most request connections of one ingress. */
export const MAX_INGRESS_CONNECTIONS = 16;

/** The client id of request connection `k`: the first keeps the ingress's own id. */
export function connectionId(clientId: string, k: number): string {
  return k === 0 ? clientId : `${clientId}-${k}`;
}

/**
 * Takes what the persistent sessions of request connections `from` .. MAX-1 (an earlier run
 * with more connections) still hold, then deletes those sessions: left alone, each would go on
 * receiving its share of the requests with nobody to take them. Resolves to how many existed.
 */
export async function drainStaleSessions(
  common: MqttConnectOptions,
  clientId: string,
  from: number,
  shareFilter: string,
  setup: (client: MqttClient) => () => number,
): Promise<number> {
  const drain = async (id: string): Promise<boolean> => {
    let present = false;
    let unacknowledged = () => 0;
    let lastAt = performance.now();
    const client = await connectMqtt(
      { ...common, clientId: id, clean: false, reconnectPeriod: 0 },
      (connecting) => {
        unacknowledged = setup(connecting);
        const handle = connecting.handleMessage;
        connecting.handleMessage = (packet, callback) => {
          lastAt = performance.now();
          handle(packet, callback);
        };
        connecting.once('connect', (connack) => {
          present = connack.sessionPresent;
        });
      },
    );
    try {
      if (present) {
        await client.unsubscribeAsync(shareFilter);
        // The broker sends what the session holds right behind the CONNACK, a few at a time.
        const deadline = performance.now() + STALE_DRAIN_MS;
        while (
          (unacknowledged() > 0 || performance.now() - lastAt < DRAIN_QUIET_MS) &&
          performance.now() < deadline
        )
          await new Promise((resolve) => setTimeout(resolve, DRAIN_QUIET_MS / 4));
      }
    } finally {
      await client.endAsync();
    }
    await (
      await connectMqtt({ ...common, clientId: id, clean: true, reconnectPeriod: 0 })
    ).endAsync();
    return present;
  };
  const ids = Array.from({ length: MAX_INGRESS_CONNECTIONS - from }, (_, index) =>
    connectionId(clientId, from + index),
  );
  return (await Promise.all(ids.map(drain))).filter(Boolean).length;
}
