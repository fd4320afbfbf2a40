/** The `--metrics-*` options of the long-running commands and the server they start. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_METRICS_HOST,
  DEFAULT_UE_CAP,
  type MetricsServer,
  ProcessMetrics,
  startMetricsServer,
} from '../metrics/index.js';
import { envValue } from '../runtime/env.js';
import type { Logger } from '../runtime/log.js';
import { parseEnv, parseInteger, parsePort } from './options.js';

/** Environment variables that stand for `--metrics-port` and `--metrics-host` (flags win). */
export const METRICS_ENV = {
  port: 'EDGESPLIT_METRICS_PORT',
  host: 'EDGESPLIT_METRICS_HOST',
} as const;

export interface MetricsFlags {
  /** Absent: no metrics server. */
  readonly metricsPort?: number;
  readonly metricsHost: string;
  readonly metricsPerUe: 'on' | 'off';
  readonly metricsUeCap: number;
}

/**
 * Adds `--metrics-port`, `--metrics-host`, `--metrics-per-ue` and `--metrics-ue-cap`. Without a
 * port (flag or environment) there is no server, unless `defaultPort` gives one (`up`: 0).
 */
export function addMetricsOptions(command: Command, defaultPort?: number): Command {
  const fallback =
    defaultPort === undefined ? 'off without it' : `default ${defaultPort}: a free one`;
  return command
    .addOption(
      new Option(
        '--metrics-port <n>',
        `serve /metrics, /healthz and /readyz on this port, 0 for a free one (env ${METRICS_ENV.port}; ${fallback})`,
      ).argParser(parsePort),
    )
    .option(
      '--metrics-host <addr>',
      `address the metrics endpoints bind to, 0.0.0.0 for a scraper on another host (env ${METRICS_ENV.host})`,
      envValue(METRICS_ENV.host) ?? DEFAULT_METRICS_HOST,
    )
    .addOption(
      new Option('--metrics-per-ue <mode>', 'per-UE metric series (cut, units, latency)')
        .choices(['on', 'off'])
        .default('on'),
    )
    .option(
      '--metrics-ue-cap <n>',
      'most UEs with series of their own (the slowest for decisions; the rest as ue="other")',
      parseUeCap,
      DEFAULT_UE_CAP,
    );
}

function parseUeCap(value: string): number {
  const cap = parseInteger(value);
  if (cap > 100_000) throw new InvalidArgumentError('must be at most 100000');
  return cap;
}

/**
 * The port of the metrics endpoints: `--metrics-port`, else `EDGESPLIT_METRICS_PORT`, else
 * `defaultPort`; undefined for none. Throws an `OptionError` on a bad value in the environment.
 */
export function metricsPort(flags: MetricsFlags, defaultPort?: number): number | undefined {
  if (flags.metricsPort !== undefined) return flags.metricsPort;
  return parseEnv(METRICS_ENV.port, parsePort) ?? defaultPort;
}

/** A process's metrics and their server. */
export interface ServedMetrics {
  readonly metrics: ProcessMetrics;
  readonly server: MetricsServer;
  close(): Promise<void>;
}

/** How `serveMetrics` serves and says where. */
export interface ServeMetricsOptions {
  /** The port without `--metrics-port` or its variable. @defaultValue none: no server */
  readonly defaultPort?: number;
  /**
   * Says where the endpoints are, given `{name}: metrics on URL` and the URL.
   * @defaultValue an info line of the process's logger, with the URL as field `url`
   */
  readonly announce?: (message: string, url: string) => void;
}

/**
 * With `--metrics-port`, the process's registry and its endpoints, announced through `log`
 * (`{name}: metrics on URL`, field `url`) unless `options.announce` says otherwise; undefined
 * without (nothing is measured then). Rejects when the port cannot be bound.
 */
export async function serveMetrics(
  flags: MetricsFlags,
  name: string,
  log: Logger,
  options: ServeMetricsOptions = {},
): Promise<ServedMetrics | undefined> {
  const port = metricsPort(flags, options.defaultPort);
  if (port === undefined) return undefined;
  const metrics = new ProcessMetrics({
    perUe: flags.metricsPerUe === 'on',
    ueCap: flags.metricsUeCap,
  });
  const server = await startMetricsServer(metrics, {
    port,
    host: flags.metricsHost,
  });
  const message = `${name}: metrics on ${server.url}`;
  if (options.announce === undefined) log.info(message, { url: server.url });
  else options.announce(message, server.url);
  return { metrics, server, close: () => server.close() };
}
