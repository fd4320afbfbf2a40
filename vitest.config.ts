import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * Tests that need real services (Redis, a Mosquitto broker) form the `services` project, whose
 * global setup finds or starts them; every other test is `unit` and needs none, so running a
 * pure test file starts nothing. A test file belongs to `services` when it names a service, a
 * queue or Redis client, or a test helper that connects to them (the markers below), so a new
 * test cannot land in the wrong project by being left off a list. A service's URL variable
 * counts where code reads it (`process.env.REDIS_URL`) or hands it to a process
 * (`{ REDIS_URL: ... }`), not where a test only quotes it (the help text of an option).
 * Fixtures that need no service (`request-fixtures.ts`) import nothing that connects.
 */
const SERVICE_MARKERS =
  /services\.js|system-harness|system-fleet|edge-harness|ingress-fixtures|ioredis|bullmq|process\.env\.(REDIS|MOSQUITTO)_URL|\b(REDIS|MOSQUITTO)_URL\s*:|mosquitto/i;
const testDir = fileURLToPath(new URL('./test/', import.meta.url));
const SERVICES = readdirSync(testDir)
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => SERVICE_MARKERS.test(readFileSync(`${testDir}${name}`, 'utf8')))
  .map((name) => `test/${name}`);

// Generous: a test or hook that runs out of time has failed anyway, and a busy 2-core CI machine
// can take several times as long as a quiet one.
const common = { testTimeout: 300_000, hookTimeout: 120_000, pool: 'forks' as const };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: SERVICES,
          ...common,
        },
      },
      {
        test: {
          name: 'services',
          include: SERVICES,
          globalSetup: ['test/global-setup.ts'],
          ...common,
        },
      },
    ],
  },
});
