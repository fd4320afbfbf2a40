import { describe, expect, it } from 'vitest';
import { runCli } from './cli-run.js';

describe('help of the services', () => {
  it.each(['scheduler', 'edge-worker'])(
    '`%s --help` lists the broker and Redis options with their environment variables, and the login variables',
    (command) => {
      const { code, stdout } = runCli([command, '--help']);
      expect(code).toBe(0);
      for (const line of [
        /--mqtt-url <url>\s+broker URL \(env MQTT_URL\)/,
        /--redis-url <url>\s+Redis URL \(env REDIS_URL\)/,
        /--topic-prefix <prefix>\s+topic prefix \(env EDGESPLIT_TOPIC_PREFIX\)/,
        /--redis-prefix <prefix>\s+Redis key prefix \(env EDGESPLIT_REDIS_PREFIX\)/,
        /MQTT_USERNAME and MQTT_PASSWORD log in to the broker/,
      ])
        expect(stdout).toMatch(line);
    },
  );
});

describe('--log-level', () => {
  it.each(['broker', 'ingress', 'scheduler', 'edge-worker', 'agent', 'fleet run', 'up', 'lab'])(
    '`%s --help` lists it with its levels and EDGESPLIT_LOG_LEVEL',
    (command) => {
      const { code, stdout } = runCli([...command.split(' '), '--help']);
      expect(code).toBe(0);
      const help = stdout.replace(/\s+/g, ' ');
      expect(help).toMatch(
        /--log-level <level> least severe log lines written, on stderr \(env EDGESPLIT_LOG_LEVEL; default (info|warn);/,
      );
      expect(help).toContain('"trace", "debug", "info", "warn", "error", "fatal", "silent"');
    },
  );
});
