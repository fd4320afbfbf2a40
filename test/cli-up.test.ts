import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REAL_INFERENCE_MODELS } from '../cli/up/real-inference.js';
import { REAL_MODELS } from '../dnn/index.js';
import { CLI_TIMEOUT_MS, FLEET_SUMMARY_KEYS, runCli } from './cli-run.js';
import { logRecords, messageText } from './log-lines.js';
import { testRedisUrl } from './services.js';

describe('edgesplit up', () => {
  it('runs broker, scheduler, edge workers and a fleet, and prints the JSON summary', () => {
    const { code, stdout, stderr } = runCli(
      ['up', '--port', '0', '--executor', 'emulated', '--ues', '6', '--duration', '4', '--json'],
      undefined,
      { ...process.env, REDIS_URL: testRedisUrl() },
    );
    expect(stderr).toMatch(/authentication OFF/i);
    expect(code, stderr).toBe(0);
    // Its parts log warnings (JSON lines: stderr is a pipe), each naming its component.
    expect(logRecords(stderr)).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        component: 'broker',
        msg: expect.stringMatching(/^AUTHENTICATION IS OFF/),
      }),
    );
    const summary = JSON.parse(stdout);
    expect(Object.keys(summary).sort()).toEqual(FLEET_SUMMARY_KEYS);
    expect(summary.ues).toBe(6);
    expect(summary.epochs).toBeGreaterThanOrEqual(1);
    expect(summary.requests).toBeGreaterThan(0);
    expect(summary.ok).toBe(summary.requests);
    expect(summary.failed).toBe(0);
    expect(summary.measured.p50Ms).toBeGreaterThan(0);
    // Prediction error in percent, offloaded and local tasks apart, each counted once.
    const { offloaded, local } = summary.predictionError;
    for (const group of [offloaded, local])
      expect(Object.keys(group).sort()).toEqual(
        ['errorP50Pct', 'errorP90Pct', 'tasks', 'ueMedianP50Pct', 'ues', 'worstUeMedianPct'].sort(),
      );
    expect(offloaded.ues + local.ues).toBeGreaterThanOrEqual(1);
    expect(offloaded.tasks + local.tasks).toBeGreaterThan(0);
  });

  it(
    'runs real ONNX inference by default, with measured profiles, losing nothing',
    () => {
      const { code, stdout, stderr } = runCli(
        ['up', '--port', '0', '--ues', '4', '--duration', '6', '--json'],
        undefined,
        { ...process.env, REDIS_URL: testRedisUrl() },
      );
      expect(code, stderr).toBe(0);
      const summary = JSON.parse(stdout);
      expect(summary.requests).toBeGreaterThan(0);
      expect(summary.ok).toBe(summary.requests);
      expect(summary.maxPredictedMs).toBeGreaterThan(0);
    },
    CLI_TIMEOUT_MS + 60_000,
  );

  it('starts a private redis-server when REDIS_URL is unset', () => {
    const env = { ...process.env };
    delete env.REDIS_URL;
    const { code, stdout, stderr } = runCli(
      ['up', '--port', '0', '--executor', 'emulated', '--ues', '2', '--duration', '2', '--json'],
      undefined,
      env,
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/private redis-server/);
    expect(JSON.parse(stdout).ues).toBe(2);
  });

  it('without REDIS_URL and without redis-server, says how to get one', () => {
    // A PATH holding node and nothing else.
    const bin = mkdtempSync(join(tmpdir(), 'edgesplit-path-'));
    symlinkSync(process.execPath, join(bin, 'node'));
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin };
    delete env.REDIS_URL;
    const result = runCli(['up', '--port', '0', '--duration', '1'], undefined, env);
    rmSync(bin, { recursive: true, force: true });
    const { code, stdout, stderr } = result;
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(messageText(stderr)).toMatch(/no redis-server on PATH/);
    expect(messageText(stderr)).toMatch(/REDIS_URL=redis:\/\//);
    expect(messageText(stderr)).toMatch(/apt-get install redis-server/);
  });

  it('names a taken port and how to choose another', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const { code, stderr } = runCli(
        ['up', '--port', String(port), '--duration', '1'],
        undefined,
        {
          ...process.env,
          REDIS_URL: testRedisUrl(),
        },
      );
      expect(code).toBe(1);
      expect(messageText(stderr)).toContain(`port ${port} is taken`);
      expect(messageText(stderr)).toContain('--port');
    } finally {
      server.close();
    }
  });

  it('checks its port before measuring models: exit 1 naming the port, no model measured or stored', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const store = mkdtempSync(join(tmpdir(), 'edgesplit-up-store-'));
    try {
      // The default executor is onnx: with an empty model store, up would measure models first.
      const { code, stdout, stderr } = runCli(['up', '--port', String(port)], undefined, {
        ...process.env,
        REDIS_URL: testRedisUrl(),
        EDGESPLIT_MODEL_DIR: store,
      });
      expect(code).toBe(1);
      expect(messageText(stderr)).toContain(`port ${port} is taken`);
      expect(`${stdout}${stderr}`).not.toMatch(/measuring/);
      expect(readdirSync(store)).toEqual([]);
    } finally {
      server.close();
      rmSync(store, { recursive: true, force: true });
    }
  });

  it('--help names the models each executor uses by default', () => {
    const { code, stdout } = runCli(['up', '--help']);
    expect(code).toBe(0);
    const help = stdout.replace(/\s+/g, ' ');
    expect(help).toContain(
      `(default: ${REAL_INFERENCE_MODELS.join(',')}; with --executor emulated ${REAL_MODELS.join(',')})`,
    );
  });

  it('refuses bad flags with exit code 2', () => {
    for (const args of [
      ['--workers', '0'],
      ['--ues', 'x'],
      ['--port', '70000'],
      ['--models', 'lenet'],
    ]) {
      const { code, stderr } = runCli(['up', ...args, '--duration', '1']);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr.length).toBeGreaterThan(0);
    }
  });
});
