import { defineConfig } from 'vitest/config';

/**
 * Tests that need real services (Redis, a Mosquitto broker) form the `services` project, whose
 * global setup finds or starts them; every other test is `unit` and needs none, so running a
 * pure test file starts nothing. A new test that talks to Redis or Mosquitto belongs on the list.
 */
const SERVICES = [
  'test/broker-ingress-brokers.test.ts',
  'test/broker-ingress.test.ts',
  'test/cli-up.test.ts',
  'test/edge-worker-process.test.ts',
  'test/edge-worker.test.ts',
  'test/scheduler-service.test.ts',
  'test/scheduler-standby.test.ts',
  'test/system-*.test.ts',
];

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
