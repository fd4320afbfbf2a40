import { describe, expect, it } from 'vitest';
import { runCli } from './cli-run.js';
import { logRecords, messageText } from './log-lines.js';

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

describe('a bad environment variable', () => {
  it.each([
    {
      command: ['scheduler'],
      name: 'EDGESPLIT_METRICS_PORT',
      value: '99999',
      says: /EDGESPLIT_METRICS_PORT: must be a port number from 0 to 65535/,
    },
    {
      command: ['ingress'],
      name: 'EDGESPLIT_MAX_WAITING_JOBS',
      value: 'many',
      says: /EDGESPLIT_MAX_WAITING_JOBS: must be a whole number >= 1/,
    },
    {
      command: ['broker', '--port', '0', '--host', '127.0.0.1', '--no-retained-store'],
      name: 'EDGESPLIT_JOB_TTL',
      value: '1.5',
      says: /EDGESPLIT_JOB_TTL: must be a whole number of seconds >= 1/,
    },
  ])(
    '`$command.0` with $name=$value exits 2, naming the variable and why, with no stack',
    ({ command, name, value, says }) => {
      const { code, stderr } = runCli(command, undefined, {
        ...process.env,
        EDGESPLIT_TOKENS: 'sched:scheduler:sched-token-0123456789',
        [name]: value,
      });
      expect(code, stderr).toBe(2);
      expect(messageText(stderr)).toMatch(says);
      expect(logRecords(stderr).some((record) => 'stack' in record)).toBe(false);
      expect(stderr).not.toMatch(/\n\s+at /);
    },
  );
});
