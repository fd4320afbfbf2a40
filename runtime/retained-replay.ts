import type { IPublishPacket, MqttClient } from 'mqtt';

/**
 * Tells a stale retained replay from news. A broker sends a topic's retained message again each
 * time a client subscribes to it (retain flag set) and forwards every later publish live (retain
 * flag clear, MQTT 3.1.1 §3.3.1.3). Replay and live delivery are not ordered against each other:
 * a replay read before a live message can arrive after it. After an edge worker was killed, a
 * scheduler that subscribed twice on reconnecting got its last will `offline` live, then its
 * `online` of a moment before as a replay, and kept its units for a process that was gone.
 *
 * Within one connection, a live message on a topic is at least as new as any replay of that
 * topic that follows it (anything published later is forwarded live too), so such a replay is
 * dropped. A new connection starts afresh: its replays are the state to take.
 *
 * Holds one entry per topic heard live since the last connect, and at most MAX_LIVE_TOPICS:
 * past that (topics a client made up), it starts again empty. A replay only follows a
 * subscription, so what that forgets is at most the order of a replay already on its way.
 */
const MAX_LIVE_TOPICS = 262_144;

export class RetainedReplayFilter {
  #live = new Set<string>();

  /** A new connection: every replay is taken again. */
  connected(): void {
    this.#live.clear();
  }

  /** Whether a message on `topic` is news; false for a replay that a live message overtook. */
  accepts(topic: string, retain: boolean): boolean {
    if (!retain) {
      if (this.#live.size >= MAX_LIVE_TOPICS) this.#live.clear();
      this.#live.add(topic);
      return true;
    }
    return !this.#live.has(topic);
  }
}

/**
 * Subscribes `listener` to `client`'s messages minus the stale retained replays
 * (`RetainedReplayFilter`); returns what unsubscribes it.
 */
export function onCurrentMessage(
  client: MqttClient,
  listener: (topic: string, payload: Buffer, packet: IPublishPacket) => void,
): () => void {
  const filter = new RetainedReplayFilter();
  const connected = () => filter.connected();
  const message = (topic: string, payload: Buffer, packet: IPublishPacket) => {
    if (filter.accepts(topic, packet.retain === true)) listener(topic, payload, packet);
  };
  client.on('connect', connected);
  client.on('message', message);
  return () => {
    client.off('connect', connected);
    client.off('message', message);
  };
}
