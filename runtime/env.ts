/**
 * Environment variables every process reads, in one place, so the CLI, docker-compose and the
 * tests agree on their names.
 */
export const ENV = {
  /** MQTT broker URL, e.g. `mqtt://127.0.0.1:1883` or `mqtts://host:8883`. */
  mqttUrl: 'MQTT_URL',
  mqttUsername: 'MQTT_USERNAME',
  mqttPassword: 'MQTT_PASSWORD',
  /** Redis URL for BullMQ and claim checks, e.g. `redis://127.0.0.1:6379`. */
  redisUrl: 'REDIS_URL',
  /** Topic prefix, default `edgesplit/v1`. */
  topicPrefix: 'EDGESPLIT_TOPIC_PREFIX',
  /** Redis key prefix, default `edgesplit`. */
  redisPrefix: 'EDGESPLIT_REDIS_PREFIX',
  /**
   * A directory (tmpfs) where the ingress keeps tensors and the edge workers on its host read
   * them, instead of Redis values; unset: Redis (runtime/claim-files.ts).
   */
  claimDir: 'EDGESPLIT_CLAIM_DIR',
  /** Fleet key from which every UE's MQTT password is derived (`runtime/ue-key.ts`). */
  ueFleetKey: 'EDGESPLIT_UE_FLEET_KEY',
  /** Revoked derived UE keys: `UE` or `UE:N`, comma-separated (`runtime/ue-key.ts`). */
  ueKeyRevoked: 'EDGESPLIT_UE_KEY_REVOKED',
} as const;

export function envValue(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}
