/**
 * A UE whose connection ends in any way is offline. MQTT publishes a client's last will only
 * when the connection dies without a DISCONNECT; a device that disconnects cleanly without
 * publishing `offline` would otherwise stay online and keep its edge units. So the broker
 * publishes a retained `offline` status for a UE when the last of its connections ends, as
 * IoT platforms publish lifecycle events.
 *
 * A connection belongs to a UE by its identity (authentication on) or, with authentication off,
 * by its last will's topic being that UE's status topic.
 */
import type { Aedes, Client } from 'aedes';
import { encodeMessage, tryParseTopic, ueTopic } from '../proto/index.js';
import type { Identity } from './acl.js';
import type { Logger } from './log.js';

/** The agent version the broker writes in the statuses it publishes for UEs. */
export const BROKER_PRESENCE_AGENT = 'edgesplit-broker';

export function publishOfflineOnDisconnect(
  aedes: Aedes,
  topicPrefix: string,
  identityOf: (client: Client) => Identity | undefined,
  logger: Logger,
): void {
  const ueOfClient = new WeakMap<Client, string>();
  const live = new Map<string, Set<Client>>();

  const ueOf = (client: Client): string | undefined => {
    const identity = identityOf(client);
    if (identity !== undefined) return identity.role === 'ue' ? identity.ue : undefined;
    const will = (client as { will?: { topic?: unknown } | null }).will;
    if (typeof will?.topic !== 'string') return undefined;
    const parsed = tryParseTopic(topicPrefix, will.topic);
    return parsed.ok && parsed.value.kind === 'ue' && parsed.value.channel === 'status'
      ? parsed.value.ue
      : undefined;
  };

  aedes.on('connackSent', (packet, client) => {
    if ((packet as { returnCode?: number }).returnCode !== 0) return;
    const ue = ueOf(client);
    if (ue === undefined) return;
    ueOfClient.set(client, ue);
    const clients = live.get(ue) ?? new Set();
    clients.add(client);
    live.set(ue, clients);
  });

  aedes.on('clientDisconnect', (client) => {
    const ue = ueOfClient.get(client);
    if (ue === undefined) return;
    const clients = live.get(ue);
    clients?.delete(client);
    // Another connection of the same UE (a takeover by a reconnecting device) keeps it online.
    if (clients !== undefined && clients.size > 0) return;
    live.delete(ue);
    const payload = encodeMessage({
      state: 'offline',
      agentVersion: BROKER_PRESENCE_AGENT,
      at: Date.now(),
    });
    aedes.publish(
      {
        cmd: 'publish',
        topic: ueTopic(topicPrefix, ue, 'status'),
        payload,
        qos: 1,
        retain: true,
        dup: false,
      },
      (error) => {
        if (error)
          logger.warn(`could not publish offline for UE ${JSON.stringify(ue)}: ${error.message}`, {
            ueId: ue,
          });
      },
    );
  });
}
