import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, CredentialsError, createBroker } from '../broker/index.js';
import { connectMqtt, deriveUeKey } from '../proto/index.js';
import { CliProcess } from './cli-process.js';
import { runCli } from './cli-run.js';
import { recordingLogger } from './recording-logger.js';

const P = 'edgesplit/v1';
const FLEET_KEY = 'fleet-key-for-tests-0123456789abcdef';
const { lines, logger } = recordingLogger();
let broker: Broker;
let url: string;

beforeAll(async () => {
  broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    auth: {
      ueFleetKey: FLEET_KEY,
      tokens: [
        { username: 'ue-listed', role: 'ue', ue: 'ue-listed', token: 'listed-token-0123456789' },
      ],
    },
    logger,
  });
  url = `mqtt://127.0.0.1:${broker.port}`;
});
afterAll(() => broker?.close());

/** Connects once; resolves the client, or the refusal's message. */
async function login(username: string, password: string) {
  try {
    return await connectMqtt({ url, username, password, reconnectPeriod: 0, protocolVersion: 4 });
  } catch (error) {
    return (error as Error).message;
  }
}

/** Publishes at QoS 1: true if acknowledged, false if the broker hung up. */
async function publishes(username: string, topic: string): Promise<boolean> {
  const client = await login(username, deriveUeKey(FLEET_KEY, username));
  if (typeof client === 'string') throw new Error(client);
  const acked = await new Promise<boolean>((resolve) => {
    client.once('close', () => resolve(false));
    client.publish(topic, 'x', { qos: 1 }, (error) => resolve(!error));
  });
  client.end(true);
  return acked;
}

describe('UE logins derived from a fleet key', () => {
  it('lets any UE id in with its own derived key, as that UE only', async () => {
    expect(await publishes('ue-0042', `${P}/ue/ue-0042/link`)).toBe(true);
    expect(await publishes('ue-0042', `${P}/ue/ue-0043/link`)).toBe(false);
    expect(lines.some((line) => line.includes('"edgesplit/v1/ue/ue-0043/link"'))).toBe(true);
  });

  it("refuses another UE's key, a wrong key and names that are not UE ids", async () => {
    for (const [username, password] of [
      ['ue-0042', deriveUeKey(FLEET_KEY, 'ue-0043')],
      ['ue-0042', 'not-the-derived-key'],
      ['ue-0042', deriveUeKey(`${FLEET_KEY}x`, 'ue-0042')],
      ['bad name', deriveUeKey(FLEET_KEY, 'bad name')],
    ] as const) {
      const outcome = await login(username, password);
      if (typeof outcome !== 'string') outcome.end(true);
      expect(outcome, `${username} / ${password}`).toMatch(
        /Not authorized|Bad username or password/,
      );
    }
  });

  it('keeps the secret of a UE that is listed by name', async () => {
    const derived = await login('ue-listed', deriveUeKey(FLEET_KEY, 'ue-listed'));
    expect(typeof derived).toBe('string');
    const listed = await login('ue-listed', 'listed-token-0123456789');
    expect(typeof listed).not.toBe('string');
    if (typeof listed !== 'string') listed.end(true);
  });

  it('refuses a fleet key too short to be one', async () => {
    await expect(
      createBroker({ port: 0, host: '127.0.0.1', auth: { ueFleetKey: 'short' }, logger }),
    ).rejects.toThrow(CredentialsError);
  });

  it('prints one device its key (edgesplit broker ue-key), and says what is missing', async () => {
    const env = { EDGESPLIT_UE_FLEET_KEY: FLEET_KEY };
    const printed = await runCli(['broker', 'ue-key', '--ue', 'ue-0042'], undefined, env);
    expect(printed.code).toBe(0);
    expect(printed.stdout.trim()).toBe(deriveUeKey(FLEET_KEY, 'ue-0042'));
    const unset = await runCli(['broker', 'ue-key', '--ue', 'ue-0042'], undefined, {
      EDGESPLIT_UE_FLEET_KEY: '',
    });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/EDGESPLIT_UE_FLEET_KEY is not set/);
  });

  it('runs a simulated fleet whose every UE logs in as itself', async () => {
    // Spawned, not run synchronously: this process hosts the broker.
    const env = { MQTT_URL: url, EDGESPLIT_UE_FLEET_KEY: FLEET_KEY, EDGESPLIT_TOPIC_PREFIX: P };
    const args = ['fleet', 'run', '--ues', '3', '--seed', '1', '--duration', '1', '--json'];
    const run = CliProcess.start('fleet', args, env);
    expect((await run.exited).code, run.tail()).toBe(0);
    expect(JSON.parse(run.lines.stdout.join('\n')).ues).toBe(3);
    const refusedBefore = broker.stats().refused.connect;
    const wrong = CliProcess.start('fleet', args, {
      ...env,
      EDGESPLIT_UE_FLEET_KEY: `${FLEET_KEY}-wrong`,
    });
    expect((await wrong.exited).code).not.toBe(0);
    expect(wrong.lines.stderr.join('\n')).toMatch(/Not authorized|Bad username or password/);
    expect(broker.stats().refused.connect).toBeGreaterThan(refusedBefore);
  });
});
