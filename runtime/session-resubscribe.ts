import type { ISubscriptionMap, MqttClient } from 'mqtt';

/**
 * Subscribes `client` to `filter` again on every reconnect that resumed its session. mqtt.js
 * subscribes again by itself only when the broker has no session left; but a broker may resume a
 * session without all of its subscriptions: Mosquitto 2.0 with `persistence true`, restarted,
 * says the session is present yet has dropped its shared (`$share/...`) subscriptions, and
 * delivers nothing to it. Subscribing to a filter the session still holds only replaces that
 * subscription (MQTT 3.1.1 section 3.8.4): nothing is lost or doubled.
 */
export function resubscribeOnResume(
  client: MqttClient,
  filter: string,
  qos: 0 | 1 | 2,
  onError: (error: Error) => void,
  onResubscribed?: () => void,
): void {
  client.on('connect', (connack) => {
    if (!connack.sessionPresent) return;
    // `resubscribe`: mqtt.js otherwise skips a filter it already holds at that QoS.
    const subscription: ISubscriptionMap = { [filter]: { qos } };
    subscription.resubscribe = true;
    client.subscribe(subscription, (error, granted) => {
      if (error) onError(error);
      else if (granted?.some((grant) => grant.qos >= 0x80))
        onError(new Error(`the broker refused the subscription to ${filter} on reconnecting`));
      else onResubscribed?.();
    });
  });
}
