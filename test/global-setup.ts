import { onPath, reachable } from '../system/net.js';
import { type PrivateMosquitto, startPrivateMosquitto } from '../system/private-mosquitto.js';
import { type PrivateRedis, startPrivateRedis } from '../system/private-redis.js';
import { inCi } from './tools.js';

/**
 * Makes the real services available to the tests that need them (vitest.config.ts's `services`
 * project; pure tests run without any): Redis from REDIS_URL, else 127.0.0.1:6379 if it answers,
 * else a private `redis-server` on a free port; Mosquitto (a second, independent broker) from
 * MOSQUITTO_URL, else a private `mosquitto` on a free port with Nagle off. Without a mosquitto
 * binary, CI=true fails here; elsewhere the tests on Mosquitto are skipped, saying why.
 */
const mosquittos: PrivateMosquitto[] = [];
let redis: PrivateRedis | undefined;

/** Start-up is only waited for: generous, it costs time only when a service never comes up. */
const STARTUP_MS = 60_000;

export async function setup(): Promise<void> {
  if (!process.env.REDIS_URL) {
    if (await reachable(6379)) process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    else {
      redis = await startPrivateRedis();
      process.env.REDIS_URL = redis.url;
    }
  }
  if (!process.env.MOSQUITTO_URL) {
    if (onPath('mosquitto'))
      process.env.MOSQUITTO_URL = `mqtt://127.0.0.1:${await startMosquitto()}`;
    else {
      const reason =
        'no mosquitto on PATH: apt-get install mosquitto mosquitto-clients (or set MOSQUITTO_URL)';
      if (inCi()) throw new Error(`CI=true and ${reason}`);
      process.stderr.write(`tests on Mosquitto will be skipped: ${reason}\n`);
      process.env.EDGESPLIT_NO_MOSQUITTO = reason;
    }
  }
}

export async function teardown(): Promise<void> {
  await Promise.all(mosquittos.map((mosquitto) => mosquitto.stop()));
  await redis?.stop();
}

async function startMosquitto(): Promise<number> {
  // The tests use persistent sessions and many messages in flight.
  const mosquitto = await startPrivateMosquitto({
    config: ['max_inflight_messages 0'],
    startupMs: STARTUP_MS,
  });
  mosquittos.push(mosquitto);
  return mosquitto.port;
}
