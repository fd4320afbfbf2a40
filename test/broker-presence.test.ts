import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker } from '../broker/index.js';
import { decodeMessage, encodeMessage, type UeStatus, ueTopic } from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { deriveUeKey } from '../runtime/ue-key.js';
import { recordingLogger } from './recording-logger.js';
import { waitUntil } from './wait-until.js';

const P = 'edgesplit/v1';
const FLEET_KEY = 'fleet-key-for-presence-tests-0123456789';

/** Every status published on `ue`'s status topic, as a subscriber sees them. */
async function watchStatus(
  url: string,
  ue: string,
  auth: { username?: string; password?: string },
) {
  const seen: UeStatus[] = [];
  const watcher = await connectMqtt({ url, clientId: `watch-${ue}`, ...auth });
  watcher.on('message', (_topic, payload) => {
    const decoded = decodeMessage('status', payload);
    if (decoded.ok) seen.push(decoded.value);
  });
  await watcher.subscribeAsync(ueTopic(P, ue, 'status'), { qos: 1 });
  return { seen, close: () => watcher.endAsync(true) };
}

const online = () => encodeMessage({ state: 'online', agentVersion: 'test', at: Date.now() });
const offlineWill = (ue: string) => ({
  topic: ueTopic(P, ue, 'status'),
  payload: encodeMessage({ state: 'offline', agentVersion: 'test', at: Date.now() }),
  qos: 1 as const,
  retain: true,
});

describe.each(['off', 'on'] as const)('UE presence with authentication %s', (auth) => {
  let broker: Broker;
  let url: string;
  const observer = auth === 'on' ? { username: 'obs', password: 'observer-token-0123456789' } : {};
  const credentialsOf = (ue: string) =>
    auth === 'on' ? { username: ue, password: deriveUeKey(FLEET_KEY, ue) } : {};

  beforeAll(async () => {
    broker = await createBroker({
      port: 0,
      host: '127.0.0.1',
      auth:
        auth === 'off'
          ? 'off'
          : {
              ueFleetKey: FLEET_KEY,
              tokens: [{ username: 'obs', role: 'observer', token: 'observer-token-0123456789' }],
            },
      logger: recordingLogger().logger,
    });
    url = `mqtt://127.0.0.1:${broker.port}`;
  });
  afterAll(async () => {
    await broker?.close();
  });

  it('a clean DISCONNECT without publishing offline still leaves the UE offline (retained)', async () => {
    const ue = `clean-${auth}`;
    const watch = await watchStatus(url, ue, observer);
    const device = await connectMqtt({
      url,
      clientId: ue,
      will: offlineWill(ue),
      ...credentialsOf(ue),
    });
    await device.publishAsync(ueTopic(P, ue, 'status'), online(), { qos: 1, retain: true });
    await waitUntil('online seen', () => watch.seen.some((s) => s.state === 'online'));
    await device.endAsync(); // a clean DISCONNECT: MQTT drops the will
    await waitUntil('offline seen', () => watch.seen.at(-1)?.state === 'offline');
    await watch.close();
    // A late subscriber reads offline from the retained message.
    const late = await watchStatus(url, ue, observer);
    await waitUntil('retained offline', () => late.seen.length > 0);
    expect(late.seen.at(-1)?.state).toBe('offline');
    await late.close();
  });

  it('a connection that takes over from another of the same UE keeps it online', async () => {
    const ue = `takeover-${auth}`;
    const watch = await watchStatus(url, ue, observer);
    const first = await connectMqtt({
      url,
      clientId: `${ue}-a`,
      will: offlineWill(ue),
      ...credentialsOf(ue),
    });
    const second = await connectMqtt({
      url,
      clientId: `${ue}-b`,
      will: offlineWill(ue),
      ...credentialsOf(ue),
    });
    await second.publishAsync(ueTopic(P, ue, 'status'), online(), { qos: 1, retain: true });
    await waitUntil('online seen', () => watch.seen.some((s) => s.state === 'online'));
    await first.endAsync();
    // Give the broker the time it takes to publish an offline, then check it did not.
    await second.publishAsync(ueTopic(P, ue, 'status'), online(), { qos: 1, retain: true });
    await waitUntil(
      'the second online',
      () => watch.seen.filter((s) => s.state === 'online').length === 2,
    );
    expect(watch.seen.map((s) => s.state)).toEqual(['online', 'online']);
    await second.endAsync();
    await waitUntil(
      'offline once the last connection ends',
      () => watch.seen.at(-1)?.state === 'offline',
    );
    await watch.close();
  });
});
