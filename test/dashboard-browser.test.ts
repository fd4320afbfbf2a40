/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a
 * running `edgesplit up`: every UE shows, a link change reaches the table and the plot, and the
 * page logs no error. How long the change took is printed, not bounded: the dashboard's figure
 * (docs/dashboard.md) is a quiet machine's, and a busy one may take longer without anything
 * being wrong. A screenshot goes to `.ci/out/dashboard.png`.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { type Browser, chromium } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_TOPIC_PREFIX,
  encodeMessage,
  type LinkEstimate,
  MESSAGE_QOS,
  ueTopic,
} from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { assertCliBuilt } from './cli-process.js';
import { assertStoppedCleanly, ProcessGroup } from './process-harness.js';
import { testRedisUrl } from './services.js';
import { missingTools, titled } from './tools.js';
import { waitUntil } from './wait-until.js';

const CHROMIUM = '/usr/bin/chromium';
const UES = 6;
const outDir = fileURLToPath(new URL('../.ci/out/', import.meta.url));

const skip = missingTools('chromium');

describe.skipIf(skip !== undefined)(titled('the dashboard in a real browser', skip), () => {
  const group = new ProcessGroup();
  let browser: Browser | undefined;
  let client: MqttClient | undefined;

  afterEach(async () => {
    await client?.endAsync();
    await browser?.close();
    assertStoppedCleanly(await group.stopAll());
  });

  it('shows every UE of a running up, a link change in the table and the plot, and no console error', async () => {
    assertCliBuilt();
    const up = group.start(
      'up',
      [
        'up',
        '--port',
        '0',
        '--executor',
        'emulated',
        '--ues',
        String(UES),
        '--trace',
        'constant',
        '--dashboard-port',
        '0',
      ],
      { REDIS_URL: testRedisUrl() },
    );
    const ready = await up.waitFor('stdout', /dashboard http:\/\/\S+\//);
    const mqttUrl = defined(/broker (mqtt:\/\/\S+)/.exec(ready)?.[1], 'the broker URL');
    const pageUrl = defined(/dashboard (http:\/\/\S+\/)/.exec(ready)?.[1], 'the page URL');

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) =>
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText ?? ''}`),
    );
    await page.goto(pageUrl);

    // Every UE online with a decision, and the plots drawn. Everything is read through
    // locators: the page's Content-Security-Policy forbids evaluating strings in it.
    const ids = Array.from({ length: UES }, (_, i) => `ue-${String(i + 1).padStart(4, '0')}`);
    const column = (ue: string, col: string) =>
      page.locator(`#fleet tr[data-ue="${ue}"] td[data-col="${col}"]`);
    await waitUntil('every UE online with a decision on the page', async () => {
      for (const ue of ids)
        if (!/local|offloading/.test((await column(ue, 'state').textContent()) ?? '')) return false;
      return (await page.locator('#plot-bandwidth canvas').count()) === 1;
    });
    const shown = await page
      .locator('#fleet tbody tr')
      .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-ue')));
    expect(shown).toEqual(ids);
    // The UEs publish their stats: measured latencies reach the table.
    await waitUntil('a measured p50 in the table', async () =>
      (await page.locator('#fleet td[data-col="p50"]').allTextContents()).some((text) =>
        /\d/.test(text),
      ),
    );
    // Every solver in the what-if panel.
    await waitUntil(
      'five solvers in the what-if panel',
      async () => (await page.locator('#whatif tbody tr').count()) === 5,
    );

    // The link of ue-0002 changes, as its device would say it (retained, on its own topic).
    const ue = defined(ids[1], 'the second UE id');
    client = await connectMqtt({ url: mqttUrl, clientId: 'dashboard-test' });
    const link: LinkEstimate = {
      uplinkMbps: 7.77,
      downlinkMbps: 33.3,
      rttMs: 12.5,
      measuredAt: Date.now(),
      source: 'configured',
    };
    const topic = ueTopic(DEFAULT_TOPIC_PREFIX, ue, 'link');
    const sent = performance.now();
    await client.publishAsync(topic, encodeMessage(link), { qos: MESSAGE_QOS, retain: true });
    // The change must arrive (within the generous WAIT_MS); how long it took is for the record.
    await waitUntil(`the new link of ${ue} in the table and the bandwidth plot`, async () => {
      const text = (await column(ue, 'link').textContent()) ?? '';
      const latest = JSON.parse(
        (await page.locator('#plot-bandwidth').getAttribute('data-latest')) ?? '{}',
      ) as Record<string, number | null>;
      return text.startsWith('7.77 / 33.3 Mbps') && latest[ue] === 7.77;
    });
    const tookMs = performance.now() - sent;
    process.stderr.write(`dashboard: link change on the page after ${tookMs.toFixed(0)} ms\n`);

    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: `${outDir}dashboard.png`, fullPage: true });
    expect(problems).toEqual([]);
    expect(up.alive()).toBe(true);
  });
});
