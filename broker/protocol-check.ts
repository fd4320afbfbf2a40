/**
 * What aedes does not check in a CONNECT: that the protocol name goes with the protocol level.
 * "MQIsdp" is MQTT 3.1 (level 3) only; "MQTT" is 3.1.1 (level 4) or 5.0 (level 5)
 * [MQTT-3.1.2-1], [MQTT-3.1.2-2].
 */
import type { ConnectPacket } from 'aedes';

const LEVELS_OF: Readonly<Record<string, readonly number[]>> = {
  MQIsdp: [3],
  MQTT: [4, 5],
};

/** Why a CONNECT's protocol name and level do not go together, or undefined if they do. */
export function protocolProblem(
  packet: Pick<ConnectPacket, 'protocolId' | 'protocolVersion'>,
): string | undefined {
  const name = packet.protocolId ?? 'MQTT';
  const level = packet.protocolVersion ?? 4;
  const levels = LEVELS_OF[name];
  if (levels === undefined) return `unknown protocol name ${JSON.stringify(name)}`;
  if (levels.includes(level)) return undefined;
  return `protocol name ${name} does not go with protocol level ${level} (only ${levels.join(' or ')})`;
}
