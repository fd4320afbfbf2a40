import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, CredentialsError, createBroker, hashPassword } from '../broker/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { deriveUeKey, parseUeKeyRevocations } from '../runtime/ue-key.js';
import { CliProcess } from './cli-process.js';
import { runCli } from './cli-run.js';
import { recordingLogger } from './recording-logger.js';

const P = 'edgesplit/v1';
const FLEET_KEY = 'fleet-key-for-tests-0123456789abcdef';
const REVOKED = 'ue-lost,ue-rotated:1';
const { lines, logger } = recordingLogger();
const dir = mkdtempSync(join(tmpdir(), 'edgesplit-fleet-key-'));
let broker: Broker;
let url: string;

beforeAll(async () => {
  // cam-1 speaks for UE ue-7 (a credentials-file user), cam-2 for ue-8 (a token).
  const passwordHash = await hashPassword('cam-1-password', { N: 1024, r: 8, p: 1 });
  const credentialsFile = join(dir, 'credentials.json');
  const users = [{ username: 'cam-1', role: 'ue', ue: 'ue-7', passwordHash }];
  writeFileSync(credentialsFile, JSON.stringify({ users }));
  broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    auth: {
      ueFleetKey: FLEET_KEY,
      credentialsFile,
      ueKeyRevocations: parseUeKeyRevocations(REVOKED),
      tokens: [
        { username: 'ue-listed', role: 'ue', ue: 'ue-listed', token: 'listed-token-0123456789' },
        { username: 'cam-2', role: 'ue', ue: 'ue-8', token: 'cam-2-token-0123456789' },
      ],
    },
    // Every client here comes from 127.0.0.1 and many fail on purpose: no throttling in the way
    // (test/broker-login-throttle.test.ts tests it).
    loginLimits: { freeFailures: 1000 },
    logger,
  });
  url = `mqtt://127.0.0.1:${broker.port}`;
});
afterAll(async () => {
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Connects once; resolves the client, or the refusal's message. */
async function login(username: string, password: string) {
  try {
    return await connectMqtt({ url, username, password, reconnectPeriod: 0, protocolVersion: 4 });
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Publishes at QoS 1 after logging in (with the derived key unless `password` is given): true if
 * acknowledged, false if the broker hung up.
 */
async function publishes(
  username: string,
  topic: string,
  password = deriveUeKey(FLEET_KEY, username),
): Promise<boolean> {
  const client = await login(username, password);
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

  it('never lets a derived key log in as a UE the credentials file or tokens assign; their own secrets publish its link', async () => {
    for (const ue of ['ue-7', 'ue-8']) {
      const derived = await login(ue, deriveUeKey(FLEET_KEY, ue));
      if (typeof derived !== 'string') derived.end(true);
      expect(derived, ue).toMatch(/Bad username or password/);
      expect(
        lines.some((line) =>
          line.includes(
            `UE ${ue} is assigned in the credentials; its fleet-derived key is not accepted`,
          ),
        ),
      ).toBe(true);
    }
    expect(await publishes('cam-1', `${P}/ue/ue-7/link`, 'cam-1-password')).toBe(true);
    expect(await publishes('cam-2', `${P}/ue/ue-8/link`, 'cam-2-token-0123456789')).toBe(true);
  });

  it('refuses revoked derived keys (every key of a UE, or its generations up to N) while other UEs keep theirs', async () => {
    for (const [ue, generation, reason] of [
      ['ue-lost', 1, 'every fleet-derived key of UE ue-lost is revoked'],
      ['ue-rotated', 1, 'fleet-derived key generation 1 of UE ue-rotated is revoked'],
    ] as const) {
      const outcome = await login(ue, deriveUeKey(FLEET_KEY, ue, generation));
      if (typeof outcome !== 'string') outcome.end(true);
      expect(outcome, ue).toMatch(/Bad username or password/);
      expect(lines.some((line) => line.includes(`username="${ue}"`) && line.includes(reason))).toBe(
        true,
      );
    }
    // ue-rotated's key is now generation 2; every other UE keeps generation 1.
    expect(
      await publishes(
        'ue-rotated',
        `${P}/ue/ue-rotated/link`,
        deriveUeKey(FLEET_KEY, 'ue-rotated', 2),
      ),
    ).toBe(true);
    expect(await publishes('ue-0044', `${P}/ue/ue-0044/link`)).toBe(true);
  });

  it('refuses a malformed revocation list, naming the entry', () => {
    expect(() => parseUeKeyRevocations('ue-1,bad id')).toThrow(/entry 2: must be UE or UE:N/);
    expect(() => parseUeKeyRevocations('ue-1:0')).toThrow(/entry 1: N .* from 1 to/);
    expect(() => parseUeKeyRevocations('ue-1:x')).toThrow(/entry 1: N/);
    expect(() => parseUeKeyRevocations('ue-1,ue-1:2')).toThrow(/entry 2: UE ue-1 is listed twice/);
    expect([...parseUeKeyRevocations(' ue-1 , ue-2:3 ,')]).toEqual([
      ['ue-1', 'all'],
      ['ue-2', 3],
    ]);
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

  it('prints the generation after the revoked ones (edgesplit broker ue-key), and none for a UE whose keys are all revoked', async () => {
    const env = { EDGESPLIT_UE_FLEET_KEY: FLEET_KEY, EDGESPLIT_UE_KEY_REVOKED: REVOKED };
    const rotated = await runCli(['broker', 'ue-key', '--ue', 'ue-rotated'], undefined, env);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout.trim()).toBe(deriveUeKey(FLEET_KEY, 'ue-rotated', 2));
    const lost = await runCli(['broker', 'ue-key', '--ue', 'ue-lost'], undefined, env);
    expect(lost.code).toBe(2);
    expect(lost.stdout).toBe('');
    expect(lost.stderr).toMatch(
      /every derived key of UE ue-lost is revoked in EDGESPLIT_UE_KEY_REVOKED/,
    );
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
    expect(
      wrong
        .logs()
        .map((line) => line.msg)
        .join('\n'),
    ).toMatch(/Not authorized|Bad username or password/);
    expect(broker.stats().refused.connect).toBeGreaterThan(refusedBefore);
  });
});
