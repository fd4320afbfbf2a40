import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker, type TokenRecord } from '../broker/index.js';
import { defined } from '../runtime/defined.js';
import { assertCliBuilt } from './cli-process.js';
import { messageText } from './log-lines.js';
import { assertStoppedCleanly, ProcessGroup } from './process-harness.js';
import { recordingLogger } from './recording-logger.js';

const TOKEN = 'token-of-the-watcher-0123456789';
const tokens: TokenRecord[] = [{ username: 'watcher', role: 'observer', token: TOKEN }];
let broker: Broker;
const group = new ProcessGroup();

beforeAll(async () => {
  assertCliBuilt();
  broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    auth: { tokens },
    logger: recordingLogger().logger,
  });
});

afterAll(async () => {
  assertStoppedCleanly(await group.stopAll());
  await broker?.close();
});

describe('edgesplit dashboard', () => {
  it('logs in as an observer, prints its URL, asks the page for the credentials and stops on SIGTERM', async () => {
    const env = {
      MQTT_URL: `mqtt://127.0.0.1:${broker.port}`,
      MQTT_USERNAME: 'watcher',
      MQTT_PASSWORD: TOKEN,
    };
    const dashboard = group.start('dashboard', ['dashboard', '--port', '0'], env);
    const line = await dashboard.waitFor('stdout', /^edgesplit dashboard: http:\/\//);
    expect(line).toMatch(/http:\/\/127\.0\.0\.1:\d+\/ \(observer credentials required\)/);
    const url = defined(/(http:\/\/\S+\/)/.exec(line)?.[1], 'the URL in the line');
    expect((await fetch(url)).status).toBe(401);
    const auth = `Basic ${Buffer.from(`watcher:${TOKEN}`).toString('base64')}`;
    const page = await fetch(url, { headers: { authorization: auth } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('edgesplit dashboard');
    const exit = await dashboard.stop();
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it('exits 1 naming the reason when the broker refuses it', async () => {
    const dashboard = group.start('refused', ['dashboard', '--port', '0'], {
      MQTT_URL: `mqtt://127.0.0.1:${broker.port}`,
      MQTT_USERNAME: 'watcher',
      MQTT_PASSWORD: 'not-the-token-0123456789',
    });
    const exit = await dashboard.exited;
    expect(exit.code).toBe(1);
    expect(messageText(dashboard.lines.stderr.join('\n'))).toMatch(/^edgesplit dashboard: /m);
  });
});
