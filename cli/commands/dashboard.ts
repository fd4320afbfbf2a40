import type { Command } from 'commander';
import { type Dashboard, startDashboard } from '../../dashboard/server.js';
import { asError } from '../../runtime/as-error.js';
import { ENV } from '../../runtime/env.js';
import { logText } from '../../runtime/log-text.js';
import { stopSignal } from '../../runtime/shutdown.js';
import { addLogOptions, type LogFlags, startLogging } from '../log-options.js';
import {
  addMetricsOptions,
  type MetricsFlags,
  type ServedMetrics,
  serveMetrics,
} from '../metrics-options.js';
import { exitCodeOf, mqttFromEnv, parsePort } from '../options.js';

/** Default HTTP port of `edgesplit dashboard`. */
export const DASHBOARD_PORT = 8080;

interface DashboardFlags extends LogFlags, MetricsFlags {
  readonly port: number;
  readonly host: string;
}

/**
 * `edgesplit dashboard`: the fleet operator's page (docs/dashboard.md), reading the broker at
 * MQTT_URL as an observer.
 */
export function registerDashboardCommand(program: Command): void {
  const command = program
    .command('dashboard')
    .description(
      'serve the live dashboard: fleet table, edge units, epochs, latency and bandwidth plots, ' +
        'every solver on the current fleet; reads the broker at MQTT_URL as an observer',
    )
    .option('--port <n>', 'HTTP port, 0 for a free one', parsePort, DASHBOARD_PORT)
    .option(
      '--host <addr>',
      'address to serve on (with credentials set, the page asks for them)',
      '127.0.0.1',
    )
    .addHelpText(
      'after',
      `\nEnvironment: ${ENV.mqttUrl}, ${ENV.topicPrefix}; with authentication on, ` +
        `${ENV.mqttUsername} and ${ENV.mqttPassword} of an observer credential, which the page ` +
        'then asks for as well (HTTP Basic).',
    );
  addMetricsOptions(addLogOptions(command)).action(runDashboard);
}

async function runDashboard(flags: DashboardFlags): Promise<void> {
  const log = startLogging(flags, 'dashboard');
  const mqtt = mqttFromEnv();
  let served: ServedMetrics | undefined;
  let dashboard: Dashboard;
  try {
    served = await serveMetrics(flags, 'edgesplit dashboard', log);
    dashboard = await startDashboard({
      mqttUrl: mqtt.mqttUrl,
      topicPrefix: mqtt.topicPrefix,
      ...(mqtt.username === undefined ? {} : { username: mqtt.username }),
      ...(mqtt.password === undefined ? {} : { password: mqtt.password }),
      host: flags.host,
      port: flags.port,
      onWarning: (error) => log.warn(`warning: ${logText(error.message)}`),
    });
  } catch (error) {
    log.fatal(`edgesplit dashboard: ${asError(error).message}`);
    await served?.close();
    process.exitCode = exitCodeOf(error);
    return;
  }
  served?.metrics.watchConnections('dashboard', { mqtt: () => dashboard.connected() });
  const auth = mqtt.username === undefined ? '' : ' (observer credentials required)';
  process.stdout.write(`edgesplit dashboard: ${dashboard.url}${auth}, broker ${mqtt.mqttUrl}\n`);
  const signal = await stopSignal();
  log.info(`edgesplit dashboard: ${signal}, stopping`);
  await dashboard.close();
  await served?.close();
}
