/**
 * The broker alone: `ues` clients publish `bytes`-byte payloads at QoS 1, each keeping `depth`
 * in flight, to one subscriber (as the ingress subscribes to every `infer`). No request can pass
 * the whole system faster than its first hop, so this is a ceiling for the throughput.
 */
import { connectMqtt } from '../runtime/mqtt-connect.js';

/** Topics and logins of the ceiling's clients; by default anonymous, on `{prefix}/ceiling/{i}`. */
export interface CeilingClients {
  /** The topic publisher i publishes on. */
  readonly topicOf: (i: number) => string;
  /** What the subscriber subscribes to: every publisher's topic. */
  readonly filter: string;
  readonly publisherLogin?: (i: number) => { username: string; password: string };
  readonly subscriberLogin?: { username: string; password: string };
}

export interface CeilingPlan {
  readonly ues: number;
  readonly depth: number;
  readonly bytes: number;
  readonly warmup: number;
  readonly measured: number;
}

const STALL_MS = 30_000;

/** Messages per second received by the subscriber after the warm-up. */
export async function measureBrokerCeiling(
  url: string,
  prefix: string,
  plan: CeilingPlan,
  clients: CeilingClients = {
    topicOf: (i) => `${prefix}/ceiling/${i}`,
    filter: `${prefix}/ceiling/+`,
  },
): Promise<number> {
  const subscriber = await connectMqtt({
    url,
    clientId: `bench-ceiling-sub-${prefix}`.slice(0, 64),
    clean: true,
    ...clients.subscriberLogin,
  });
  const publishers = await Promise.all(
    Array.from({ length: plan.ues }, (_, i) =>
      connectMqtt({
        url,
        clientId: `bench-ceiling-${i}-${prefix}`.slice(0, 64),
        clean: true,
        ...clients.publisherLogin?.(i),
      }),
    ),
  );
  try {
    await subscriber.subscribeAsync(clients.filter, { qos: 1 });
    const payload = Buffer.alloc(plan.bytes, 1);
    const total = plan.warmup + plan.measured;
    let sent = 0;
    let received = 0;
    let clockStart = performance.now();
    return await new Promise<number>((resolve, reject) => {
      let last = performance.now();
      const watchdog = setInterval(() => {
        if (performance.now() - last <= STALL_MS) return;
        clearInterval(watchdog);
        reject(new Error(`broker ceiling: ${received} of ${total} messages after a stall`));
      }, 1000);
      subscriber.on('message', () => {
        received++;
        last = performance.now();
        if (received === plan.warmup) clockStart = last;
        if (received !== total) return;
        clearInterval(watchdog);
        resolve((plan.measured / (last - clockStart)) * 1000);
      });
      publishers.forEach((client, i) => {
        const topic = clients.topicOf(i);
        const send = (error?: Error) => {
          if (error) reject(error);
          else if (sent < total) {
            sent++;
            client.publish(topic, payload, { qos: 1 }, send);
          }
        };
        for (let k = 0; k < plan.depth; k++) send();
      });
    });
  } finally {
    await Promise.all(publishers.map((client) => client.endAsync(true)));
    await subscriber.endAsync(true);
  }
}
